"""Every request answers by the request deadline, whatever holds it."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from server.app import create_app
from tests.conftest import app_settings, token


def test_a_request_held_past_the_deadline_is_a_503_problem(tmp_path: Path) -> None:
    # Nothing follows the log here, so a read of a recorded position would wait 5 s for it;
    # the deadline (0.5 s) answers first. (A position beyond the head answers at once.)
    settings = app_settings(
        f"sqlite:///{tmp_path}/ledger.sqlite3",
        read_wait_seconds=5.0,
        request_deadline_seconds=0.5,
        run_projections=False,
    )
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {token()}"}) as client:
        # A first write on a loaded machine may itself outlive the short deadline: as the
        # outcome-unknown answer says, retry with the same key until the outcome is known.
        for _ in range(20):
            recorded = client.post(
                "/v1/donors",
                json={"code": "aitas", "name": "A"},
                headers={"Idempotency-Key": "donor-001"},
            )
            if recorded.status_code != 503:
                break
            assert recorded.json()["type"].endswith(":outcome-unknown"), recorded.text
        assert recorded.status_code == 201, recorded.text
        started = time.monotonic()
        held = client.get(f"/v1/balances/trial-balance?min_position={recorded.json()['position']}")
        took = time.monotonic() - started
        assert held.status_code == 503, held.text
        assert held.headers["content-type"] == "application/problem+json"
        assert held.json()["type"].endswith(":store-unavailable")
        assert held.headers["Retry-After"].isdigit()
        assert took < 4.0, took  # the deadline, not the 5 s wait, ended it
        # Streams are bounded only until they start.
        stream = client.get("/v1/events/stream?max_seconds=1")
        assert stream.status_code == 200
        assert client.get("/healthz").status_code == 200
