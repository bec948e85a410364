"""PostgreSQL stops under a running server and comes back: bounded 503s, then recovery.

The database is a throwaway instance of the test's own (never the shared server).
While it is down every answer is a 503 problem with Retry-After within seconds
(writes and reads), /readyz says not ready within a second, and once it is back the
same process serves again without a restart: no 500 from a stale pooled connection.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from server.app import create_app
from tests.conftest import app_settings, token
from tests.faults.throwaway_pg import ThrowawayPostgres, throwaway_postgres

pytestmark = pytest.mark.postgres

# What a client allows itself per request here: far above every bound the server
# promises, far below the minute a request used to hang.
CLIENT_TIMEOUT = 15.0


@pytest.fixture
def outage() -> Iterator[tuple[ThrowawayPostgres, httpx.Client]]:
    with throwaway_postgres() as pg:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        settings = app_settings(
            pg.url, store_wait_seconds=1.0, pool_size=3, read_pool_size=2, read_pool_overflow=1
        )
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="error"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        try:
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"Bearer {token()}"},
                timeout=CLIENT_TIMEOUT,
            ) as client:
                yield pg, client
        finally:
            server.should_exit = True
            thread.join(timeout=15)


def _donor(client: httpx.Client, code: str, key: str) -> httpx.Response:
    return client.post(
        "/v1/donors", json={"code": code, "name": code.title()}, headers={"Idempotency-Key": key}
    )


def _timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["Retry-After"]) <= 5


def test_requests_are_bounded_503s_while_postgres_is_down_and_recover(
    outage: tuple[ThrowawayPostgres, httpx.Client],
) -> None:
    pg, client = outage
    assert _donor(client, "before", "outage-key-0").status_code == 201
    assert client.get("/v1/balances/trial-balance").status_code == 200
    assert client.get("/readyz").status_code == 200

    pg.stop()
    seen: list[int] = []
    write, write_took = _timed(lambda: _donor(client, "during", "outage-key-1"))
    _assert_unavailable(write)
    assert write.json()["type"].endswith(":store-unavailable"), write.text
    read, read_took = _timed(lambda: client.get("/v1/balances/trial-balance"))
    _assert_unavailable(read)
    # A read first asks the event store for its head (read-your-writes), so either store's
    # unavailability is what it reports; both are 503 with Retry-After.
    assert read.json()["type"].rsplit(":", 1)[1] in ("read-store-unavailable", "store-unavailable")
    journal = client.get("/v1/journal")
    _assert_unavailable(journal)
    ready, ready_took = _timed(lambda: client.get("/readyz"))
    assert ready.status_code == 503, ready.text
    assert ready.json()["status"] == "not ready"
    seen += [write.status_code, read.status_code, journal.status_code, ready.status_code]
    # Bounded by the server's own waits (1 s pool wait here), not by the client's timeout.
    print(f"outage: write {write_took:.2f}s, read {read_took:.2f}s, readyz {ready_took:.2f}s")
    assert max(write_took, read_took) < CLIENT_TIMEOUT / 2, (write_took, read_took)
    assert ready_took < 1.5, ready_took

    pg.start()
    # Back without a restart: the first requests after recovery may still be 503 while
    # the pools reconnect, never a 500 from a connection the old server closed.
    deadline = time.monotonic() + 20
    while True:
        again = _donor(client, "during", "outage-key-1")
        seen.append(again.status_code)
        if again.status_code == 201:
            break
        _assert_unavailable(again)
        assert time.monotonic() < deadline, "the service did not recover"
        time.sleep(0.2)
    # Reads include that write (read-your-writes): give the read side its catch-up.
    while client.get("/v1/balances/trial-balance").status_code != 200:
        assert time.monotonic() < deadline, "the read side did not catch up"
        time.sleep(0.2)
    for _ in range(5):  # each pooled connection predates the restart
        seen.append(client.get("/v1/balances/trial-balance").status_code)
        seen.append(client.get("/v1/journal").status_code)
    ready_again = client.get("/readyz")
    while ready_again.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        ready_again = client.get("/readyz")
    assert ready_again.status_code == 200, ready_again.text
    assert 500 not in seen, seen
    assert set(seen[-10:]) == {200}, seen
