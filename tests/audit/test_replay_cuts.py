"""`ledger replay` answers "as of a date" and "as known then", like the read endpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from server.cli import app as cli
from tests.audit.scenario import post, record_scenario

pytestmark = pytest.mark.durable

LONG = "kyzylorda-region-zhanakorgan-district-shalkiya-village-school"


def replay(store_url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["replay", "--database-url", store_url, *args])


def endpoint(client: TestClient, headers: Any, **params: Any) -> Any:
    r = client.get("/v1/balances/trial-balance", params=params, headers=headers())
    assert r.status_code == 200, r.text
    return r.json()


def test_as_of_and_known_at_equal_the_endpoint(
    client: TestClient, headers: Any, store_url: str
) -> None:
    recorded = record_scenario(client, headers)
    at = recorded["position"]
    events = client.get("/v1/events", params={"limit": 1000, "min_position": at}).json()["events"]
    approved = next(e for e in events if e["position"] == recorded["approved_at"])
    cuts: list[dict[str, str]] = [
        {"as_of": "2024-01-31"},
        {"as_of": "2024-02-15"},
        {"known_at": approved["recorded_at"]},
        {"as_of": "2024-02-01", "known_at": approved["recorded_at"]},
    ]
    for cut in cuts:
        args = [f"--{k.replace('_', '-')}={v}" for k, v in cut.items()]
        out = replay(store_url, *args, "--json")
        assert out.exit_code == 0, out.output
        replayed = json.loads(out.stdout)
        expected = endpoint(client, headers, min_position=at, **cut)
        assert replayed["accounts"] == expected["accounts"], cut
        assert replayed["totals"] == expected["totals"], cut
        assert replayed["as_of"] == cut.get("as_of")
    january = json.loads(replay(store_url, "--as-of=2024-01-31", "--json").stdout)
    # Only the commitment is dated in January: no cash has moved yet.
    assert {a["account"] for a in january["accounts"]} == {
        "commitments:receivable:khromtau", "commitments:pledged:qh"
    }  # fmt: skip
    older = replay(store_url, "--until-time", approved["recorded_at"][:19], "--json")
    assert older.exit_code == 0, older.output


def test_an_empty_cut_warns(client: TestClient, headers: Any, store_url: str) -> None:
    record_scenario(client, headers)
    out = replay(store_url, "--as-of=2023-12-31", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["accounts"] == []
    assert "no balances at this cut (as of 2023-12-31)" in out.stderr
    early = replay(store_url, "--known-at=2001-01-01T00:00:00")
    assert "no balances at this cut" in early.stderr
    whole = replay(store_url, "--json")
    assert whole.stderr == ""


def test_full_account_names_when_not_a_terminal(
    client: TestClient, headers: Any, store_url: str
) -> None:
    post(client, headers, "/v1/donors", {"code": "qh", "name": "QH"})
    school = {"school_type": "hub", "region": "kyzylorda", "district": "Zhanakorgan"}
    post(client, headers, "/v1/schools", {"code": LONG, "name": "Shalkiya", **school})
    post(
        client, headers, "/v1/grants",
        {"donor": "qh", "school": LONG, "amount": 1_000_000, "value_date": "2024-01-15",
         "reference": "AGR-1"},
    )  # fmt: skip
    out = replay(store_url)
    assert out.exit_code == 0, out.output
    name = f"commitments:receivable:{LONG}"
    assert len(name) > 80
    assert any(name in line for line in out.stdout.splitlines())
