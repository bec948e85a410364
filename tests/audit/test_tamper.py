"""Tamper evidence: change a byte, delete a row, forge the chain: verification names where.

Runs on the durable stores (SQLite and PostgreSQL), editing the stored events with raw
SQL behind the application's back, as an attacker with database access would.
"""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.postgres import PostgresDatastore
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from server.cli import app as cli
from tests.audit.scenario import record_scenario

pytestmark = pytest.mark.durable


def raw(ledger: Any, sql: str, *params: Any) -> list[Any]:
    """Run SQL on the event store itself; ``?`` placeholders on both stores."""
    recorder = ledger.recorder
    table = recorder.events_table_name
    datastore = recorder.datastore
    pg = isinstance(datastore, PostgresDatastore)
    if pg:
        table = f'"{datastore.schema}"."{table}"'
    sql = sql.replace("{events}", table).replace("{pos}", "notification_id" if pg else "rowid")
    if pg:
        sql = sql.replace("?", "%s")
    with datastore.transaction(commit=True) as cursor:
        cursor.execute(sql, params)
        try:
            rows = list(cursor.fetchall())
            return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows]
        except Exception:  # a statement without rows
            return []


@pytest.fixture
def chained(client: TestClient, headers: Any) -> dict[str, Any]:
    recorded = record_scenario(client, headers)
    digest = client.get(
        "/v1/audit/digest", params={"min_position": recorded["position"]}, headers=headers()
    ).json()
    events = client.get("/v1/events", params={"limit": 1000}, headers=headers()).json()["events"]
    return {**recorded, "digest": digest, "events": events}


def position_of(chained: dict[str, Any], type_name: str) -> int:
    return next(int(e["position"]) for e in chained["events"] if e["type"] == type_name)


def verify(client: TestClient, headers: Any, body: Any = None) -> dict[str, Any]:
    r = client.post("/v1/audit/verify", json=body, headers=headers())
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def run_cli(store_url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["audit", "verify", "--database-url", store_url, *args])


def test_untouched_history_verifies(
    client: TestClient, headers: Any, chained: dict[str, Any], store_url: str
) -> None:
    assert verify(client, headers)["ok"] is True
    digest = chained["digest"]
    assert verify(client, headers, {"position": digest["position"], "hash": digest["hash"]})["ok"]
    result = run_cli(store_url, "--digest", f"{digest['position']}:{digest['hash']}")
    assert result.exit_code == 0, result.output
    assert "audit: OK" in result.output


def test_one_changed_byte_is_found_at_its_position(
    client: TestClient, headers: Any, chained: dict[str, Any], ledger: Any, store_url: str
) -> None:
    target = position_of(chained, "disbursement.approved")
    (state,) = raw(ledger, "SELECT state FROM {events} WHERE {pos} = ?", target)[0]
    state = bytes(state)
    at = state.index(b"10000000000")
    tampered = state[:at] + b"9" + state[at + 1 :]  # 10,000,000,000 -> 90,000,000,000
    raw(ledger, "UPDATE {events} SET state = ? WHERE {pos} = ?", tampered, target)

    report = verify(client, headers)
    assert report["ok"] is False
    assert report["first_difference"]["position"] == target
    assert "differs" in report["first_difference"]["detail"]
    digest = chained["digest"]
    against = verify(client, headers, {"position": digest["position"], "hash": digest["hash"]})
    assert against["ok"] is False
    assert against["digest_matches"] is False
    assert against["first_difference"]["position"] == target
    result = run_cli(store_url)
    assert result.exit_code == 1
    assert f"FIRST DIFFERENCE at position {target}" in result.output
    # History before the change still verifies against a digest taken there.
    earlier = [e for e in chained["events"] if e["position"] < target][-1]
    ok = verify(client, headers, {"position": earlier["position"], "hash": earlier["hash"]})
    assert ok["ok"] is True


def test_a_deleted_row_is_found_at_its_position(
    client: TestClient, headers: Any, chained: dict[str, Any], ledger: Any, store_url: str
) -> None:
    target = position_of(chained, "expenditure.recorded")
    raw(ledger, "DELETE FROM {events} WHERE {pos} = ?", target)
    report = verify(client, headers)
    assert report["ok"] is False
    assert report["first_difference"]["position"] == target
    assert "missing" in report["first_difference"]["detail"]
    result = run_cli(store_url)
    assert result.exit_code == 1
    assert f"FIRST DIFFERENCE at position {target}" in result.output


def test_a_rewritten_chain_is_caught_by_the_auditors_digest(
    client: TestClient, headers: Any, chained: dict[str, Any], ledger: Any, store_url: str
) -> None:
    """An attacker who edits an event *and* recomputes the audit table still loses to
    the digest the auditor kept outside the system."""
    from projections.audit import tables as at
    from projections.audit.chainer import AuditChainer

    target = position_of(chained, "grant.committed")
    (state,) = raw(ledger, "SELECT state FROM {events} WHERE {pos} = ?", target)[0]
    state = bytes(state).replace(b"AGR-1", b"AGR-2")
    raw(ledger, "UPDATE {events} SET state = ? WHERE {pos} = ?", state, target)
    read_side = client.app.state.read_side  # type: ignore[attr-defined]
    if read_side.runner is not None:
        # The attacker rewrites the chain alone: the served runner's chainer would
        # race this catch-up for the same rows.
        read_side.runner.stop()
    store = read_side.store
    with store.engine.begin() as conn:
        conn.execute(at.events.delete())
        conn.execute(at.refs.delete())
        conn.execute(at.streams.delete())
    AuditChainer(ledger.event_log, store).catch_up()
    assert verify(client, headers)["ok"] is True  # self-consistent again...
    digest = chained["digest"]
    result = run_cli(store_url, "--digest", f"{digest['position']}:{digest['hash']}")
    assert result.exit_code == 1  # ...but not with what the auditor wrote down
    assert "audit: FAILED" in result.output
    assert "the digest says" in result.output
