"""`ledger replay`: balances folded from the raw log equal the point-in-time read endpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from projections.replay import replay_balances
from server.cli import app as cli
from tests.audit.scenario import record_scenario


def endpoint(client: TestClient, headers: Any, position: int, known_at: str | None) -> Any:
    params: dict[str, Any] = {"min_position": position}
    if known_at is not None:
        params["known_at"] = known_at
    r = client.get("/v1/balances/trial-balance", params=params, headers=headers())
    assert r.status_code == 200, r.text
    return r.json()


def comparable(trial: dict[str, Any]) -> tuple[Any, Any]:
    return trial["accounts"], trial["totals"]


def test_replay_until_each_moment_equals_known_at(
    client: TestClient, headers: Any, ledger: Any
) -> None:
    recorded = record_scenario(client, headers)
    events = client.get(
        "/v1/events",
        params={"limit": 1000, "min_position": recorded["position"]},
        headers=headers(),
    ).json()["events"]
    financial = [e for e in events if e["legs"]]
    assert len(financial) >= 5
    for event in financial:
        moment = event["recorded_at"]
        by_time = replay_balances(ledger.event_log, until_time=_parse(moment))
        expected = endpoint(client, headers, recorded["position"], moment)
        assert comparable(by_time.model_dump(mode="json")) == comparable(expected), moment
        by_position = replay_balances(ledger.event_log, until_position=event["position"])
        assert comparable(by_position.model_dump(mode="json")) == comparable(expected)
        assert by_position.balanced
    whole = replay_balances(ledger.event_log)
    live = endpoint(client, headers, recorded["position"], None)
    assert comparable(whole.model_dump(mode="json")) == comparable(live)
    cash = {a.account: a.balance for a in whole.accounts}["schools:khromtau:cash"]
    assert cash == 10_000_000_000 - 3_000_000_000


def _parse(moment: str) -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))


@pytest.mark.durable
def test_replay_command_prints_json_and_a_table(
    client: TestClient, headers: Any, store_url: str
) -> None:
    recorded = record_scenario(client, headers)
    runner = CliRunner()
    at = str(recorded["approved_at"])
    out = runner.invoke(
        cli, ["replay", "--database-url", store_url, "--until-position", at, "--json"]
    )
    assert out.exit_code == 0, out.output
    replayed = json.loads(out.output)
    assert replayed["position"] <= recorded["approved_at"]
    assert replayed["balanced"] is True
    balances = {a["account"]: a["balance"] for a in replayed["accounts"]}
    assert balances["schools:khromtau:cash"] == 10_000_000_000
    table = runner.invoke(cli, ["replay", "--database-url", store_url])
    assert table.exit_code == 0, table.output
    assert "schools:khromtau:cash" in table.output
    assert "KZT: debits" in table.output
    # People read major units with the currency, not raw tiyn.
    assert "70,000,000.00 KZT" in table.output and "7000000000" not in table.output
    assert "major units" in table.output
    assert recorded["position"] > recorded["approved_at"]
