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


def test_a_value_date_beyond_the_horizon_records_nothing(client: TestClient, headers: Any) -> None:
    assert (
        client.post(
            "/v1/donors", json={"code": "aitas", "name": "A"}, headers=headers()
        ).status_code
        == 201
    )
    today = dt.datetime.now(ALMATY).date()
    head = client.get("/v1/projections/status").json()["projections"][0]["log_head"]
    far = _cost(client, headers, dt.date(2099, 1, 1))
    assert far.status_code == 422, far.text
    assert "ahead of today" in far.json()["detail"]
    assert _cost(client, headers, today + dt.timedelta(days=8)).status_code == 422
    assert client.get("/v1/projections/status").json()["projections"][0]["log_head"] == head
    assert _cost(client, headers, today + dt.timedelta(days=7)).status_code == 201


def test_a_reversal_is_dated_today_in_almaty(client: TestClient, headers: Any) -> None:
    assert (
        client.post(
            "/v1/donors", json={"code": "aitas", "name": "A"}, headers=headers()
        ).status_code
        == 201
    )
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
