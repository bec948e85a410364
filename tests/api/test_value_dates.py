"""Value dates: calendar days in the programme's zone, no further ahead than the horizon."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

ALMATY = ZoneInfo("Asia/Almaty")


def _cost(client: TestClient, headers: Any, day: dt.date) -> Any:
    body = {
        "donor": "aitas", "amount": 1_000_00, "category": "monitoring",
        "value_date": day.isoformat(), "reference": "OP-1",
    }  # fmt: skip
    return client.post("/v1/operating-costs", json=body, headers=headers())


def _donor(client: TestClient, headers: Any) -> None:
    response = client.post("/v1/donors", json={"code": "aitas", "name": "A"}, headers=headers())
    assert response.status_code == 201, response.text


def test_a_value_date_beyond_the_horizon_records_nothing(client: TestClient, headers: Any) -> None:
    _donor(client, headers)
    today = dt.datetime.now(ALMATY).date()
    head = client.get("/v1/projections/status").json()["projections"][0]["log_head"]
    far = _cost(client, headers, dt.date(2099, 1, 1))
    assert far.status_code == 422, far.text
    assert "ahead of today" in far.json()["detail"]
    assert _cost(client, headers, today + dt.timedelta(days=8)).status_code == 422
    assert client.get("/v1/projections/status").json()["projections"][0]["log_head"] == head
    assert _cost(client, headers, today + dt.timedelta(days=7)).status_code == 201


def test_a_reversal_is_dated_today_in_almaty(client: TestClient, headers: Any) -> None:
    _donor(client, headers)
    cost = _cost(client, headers, dt.date(2025, 3, 1))
    assert cost.status_code == 201, cost.text
    entry = cost.json()["entry_id"]
    before = dt.datetime.now(ALMATY).date()
    r = client.post(f"/v1/entries/{entry}/reversal", json={"reason": "typo"}, headers=headers())
    assert r.status_code == 201, r.text
    after = dt.datetime.now(ALMATY).date()
    journal = client.get("/v1/journal", params={"min_position": r.json()["position"]}).json()
    dated = {e["entry_id"]: e["value_date"] for e in journal["entries"]}
    assert dated[r.json()["entry_id"]] in (before.isoformat(), after.isoformat())


def _head(client: TestClient) -> int:
    head: int = client.get("/v1/projections/status").json()["projections"][0]["log_head"]
    return head


def test_a_reversal_dated_before_its_entry_records_nothing(
    client: TestClient, headers: Any
) -> None:
    _donor(client, headers)
    cost = _cost(client, headers, dt.date(2025, 3, 10))
    assert cost.status_code == 201, cost.text
    entry = cost.json()["entry_id"]
    head = _head(client)
    early = client.post(
        f"/v1/entries/{entry}/reversal",
        json={"reason": "typo", "value_date": "2025-03-09"},
        headers=headers(),
    )
    assert early.status_code == 422, early.text
    problem = early.json()
    assert problem["type"] == "urn:grant-ledger:problem:reversal-before-entry"
    assert "2025-03-10" in problem["detail"]
    assert early.headers["content-type"] == "application/problem+json"
    assert _head(client) == head
    # The same day is a valid reversal, and the entry is still reversible once.
    same = client.post(
        f"/v1/entries/{entry}/reversal",
        json={"reason": "typo", "value_date": "2025-03-10"},
        headers=headers(),
    )
    assert same.status_code == 201, same.text


def test_a_reversal_of_an_entry_dated_ahead_defaults_to_that_day(
    client: TestClient, headers: Any
) -> None:
    """Today would lie before the entry: the default takes the entry's own date."""
    _donor(client, headers)
    ahead = dt.datetime.now(ALMATY).date() + dt.timedelta(days=3)
    cost = _cost(client, headers, ahead)
    assert cost.status_code == 201, cost.text
    r = client.post(
        f"/v1/entries/{cost.json()['entry_id']}/reversal",
        json={"reason": "typo"},
        headers=headers(),
    )
    assert r.status_code == 201, r.text
    journal = client.get("/v1/journal", params={"min_position": r.json()["position"]}).json()
    dated = {e["entry_id"]: e["value_date"] for e in journal["entries"]}
    assert dated[r.json()["entry_id"]] == ahead.isoformat()
