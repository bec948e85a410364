"""A commit slower than its wait answers "outcome unknown", never "nothing was recorded".

Another session holds the event table's lock, so the commit runs past the wait and
lands once the lock is released: the first answer must not claim nothing was recorded,
and the retry with the same key must answer what was recorded, exactly once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from tests.conftest import app_settings, token

pytestmark = pytest.mark.postgres


@pytest.fixture
def slow_client(pg_schema_url: str) -> Iterator[TestClient]:
    settings = app_settings(pg_schema_url, commit_wait_seconds=0.5, run_projections=False)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {token()}"}) as client:
        yield client


def _lock_events(url: str, held: threading.Event, release: threading.Event) -> None:
    base, schema = url.split("?schema=")
    with psycopg.connect(base) as conn:
        conn.execute(f'LOCK TABLE "{schema}".ledger_events IN EXCLUSIVE MODE')
        held.set()
        release.wait(10)
        conn.rollback()


def _donor(client: TestClient, code: str, key: str) -> Any:
    return client.post(
        "/v1/donors", json={"code": code, "name": code.title()}, headers={"Idempotency-Key": key}
    )


def test_commit_past_its_wait_is_outcome_unknown_then_replays(
    slow_client: TestClient, pg_schema_url: str
) -> None:
    held, release = threading.Event(), threading.Event()
    locker = threading.Thread(target=_lock_events, args=(pg_schema_url, held, release))
    locker.start()
    try:
        assert held.wait(5)
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(_donor, slow_client, "slowpay", "outcome-key-1")
            time.sleep(0.1)  # the first is inside its transaction, waiting on the lock
            second = pool.submit(_donor, slow_client, "queued", "outcome-key-2")
            unknown, not_started = first.result(10), second.result(10)
    finally:
        release.set()
        locker.join()

    assert unknown.status_code == 503
    body = unknown.json()
    assert body["type"].endswith(":outcome-unknown"), body
    assert "retry with the same Idempotency-Key" in body["detail"]
    assert "nothing was recorded" not in body["detail"]
    assert unknown.headers["Retry-After"].isdigit()

    # Queued behind it and never started: that one truly recorded nothing.
    assert not_started.status_code == 503
    assert not_started.json()["type"].endswith(":store-unavailable")
    assert "nothing was recorded" in not_started.json()["detail"]

    # The first commit lands once the lock is released; the same key replays it.
    deadline = time.monotonic() + 10
    while (got := slow_client.get("/v1/donors/slowpay")).status_code == 404:
        assert time.monotonic() < deadline, "the slow commit never landed"
        time.sleep(0.05)
    assert got.status_code == 200
    again = _donor(slow_client, "slowpay", "outcome-key-1")
    assert again.status_code == 201, again.text
    assert slow_client.get("/v1/donors/queued").status_code == 404
