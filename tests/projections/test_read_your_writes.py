"""A read that names no position includes everything recorded before it arrived."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections.runner import ProjectionRunner
from server.app import create_app
from tests.conftest import app_settings, make_app, token

AUTH = {"Authorization": f"Bearer {token()}"}


@pytest.fixture
def unfollowed(tmp_path: Any) -> Iterator[tuple[TestClient, Any]]:
    """The served app with nobody following the log: the test decides when it catches up."""
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    ledger = make_app(url)
    settings = app_settings(url, run_projections=False, read_wait_seconds=5.0)
    with TestClient(create_app(settings, ledger=ledger), headers=AUTH) as client:
        yield client, ledger
    ledger.close()


def test_a_read_waits_for_the_head_as_of_its_arrival(unfollowed: tuple[TestClient, Any]) -> None:
    client, ledger = unfollowed
    recorded = client.post(
        "/v1/donors",
        json={"code": "aitas", "name": "AITAS"},
        headers={"Idempotency-Key": "donor-0001"},
    )
    assert recorded.status_code == 201, recorded.text
    position = recorded.json()["position"]

    # Opting out answers at once from where the read models are: the donor is not there yet.
    stale = client.get("/v1/balances/donors/aitas", params={"consistency": "eventual"})
    assert stale.status_code == 404, stale.text
    status = client.get("/v1/projections/status").json()["projections"][0]
    assert status["position"] < position  # status itself never waits

    store = client.app.state.read_side.store  # type: ignore[attr-defined]
    runner = ProjectionRunner(ledger.event_log, store)
    later = threading.Timer(0.3, runner.catch_up)
    later.start()
    try:
        fresh = client.get("/v1/balances/donors/aitas")  # no min_position, no header
    finally:
        later.join()
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["position"] >= position


def test_the_wait_is_bounded(unfollowed: tuple[TestClient, Any]) -> None:
    client, _ = unfollowed
    client.app.state.read_side.max_wait_seconds = 0.2  # type: ignore[attr-defined]
    r = client.post(
        "/v1/donors", json={"code": "nis", "name": "NIS"}, headers={"Idempotency-Key": "donor-0002"}
    )
    assert r.status_code == 201
    lagging = client.get("/v1/balances/trial-balance")
    assert lagging.status_code == 503
    assert lagging.json()["type"].endswith(":projection-lagging")
    assert (
        client.get("/v1/balances/trial-balance", params={"consistency": "eventual"}).status_code
        == 200
    )
