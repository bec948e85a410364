"""Low-privilege callers cannot exhaust the read side's connection pool.

Forty viewers asking for an unreachable ``min_position`` wait without holding a
pooled connection, so other reads still answer; event streams are bounded per
caller; and a pool that is exhausted anyway answers 503, never 500.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from server.app import create_app
from tests.conftest import app_settings, make_app, token

pytestmark = pytest.mark.postgres

WAITERS = 40


@pytest.fixture
def served(pg_schema_url: str) -> Iterator[tuple[str, FastAPI]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = app_settings(
        pg_schema_url,
        read_wait_seconds=3.0,
        read_pool_size=2,
        read_pool_overflow=0,
        sse_max_streams_per_caller=2,
        sse_max_streams=3,
        pool_size=3,
    )
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", limit_concurrency=200)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(timeout=15)


def _get(base: str, path: str, roles: tuple[str, ...], sub: str = "viewer-1") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token(sub, roles)}"}
    return httpx.get(base + path, headers=headers, timeout=30)


def test_waiting_for_an_unreachable_position_holds_no_connection(
    served: tuple[str, FastAPI],
) -> None:
    base, app = served
    pool: Any = app.state.read_side.store.async_engine.pool
    unreachable = "/v1/balances/trial-balance?min_position=1000000000"
    with ThreadPoolExecutor(WAITERS) as executor:
        waiting = [
            executor.submit(_get, base, unreachable, ("viewer",), f"viewer-{i}")
            for i in range(WAITERS)
        ]
        time.sleep(1.0)  # all forty are waiting now
        held = [pool.checkedout() for _ in range(20) if not time.sleep(0.02)]
        started = time.monotonic()
        other = _get(base, "/v1/balances/trial-balance", ("viewer",))
        other_took = time.monotonic() - started
        answers = [f.result() for f in waiting]
    print(f"read pool: other read {other_took * 1000:.0f} ms, most held {max(held)}")
    # One shared poller at most, never one connection per waiter.
    assert max(held) <= 1, held
    assert other.status_code == 200, other.text
    assert {a.status_code for a in answers} == {503}
    assert {a.json()["type"].rsplit(":", 1)[1] for a in answers} == {"projection-lagging"}


def test_event_streams_are_bounded_per_caller_and_per_process(
    served: tuple[str, FastAPI],
) -> None:
    base, _ = served
    stream = "/v1/events/stream?after=0&max_seconds=2"
    with ThreadPoolExecutor(4) as executor:
        mine = [executor.submit(_get, base, stream, ("auditor",), "auditor-1") for _ in range(3)]
        time.sleep(0.5)
        other = executor.submit(_get, base, stream, ("auditor",), "auditor-2")
        time.sleep(0.5)
        over = _get(base, stream, ("auditor",), "auditor-3")  # the process holds 3 now
        answers = [f.result() for f in mine]
        assert other.result().status_code == 200
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 200, 429], codes
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["type"].endswith(":too-many-streams")
    assert refused.headers["Retry-After"].isdigit()
    assert over.status_code == 429, over.text
    # Streams that ended gave their places back.
    assert (
        _get(base, "/v1/events/stream?max_seconds=1", ("auditor",), "auditor-1").status_code == 200
    )


def test_an_exhausted_read_pool_is_a_503(pg_schema_url: str) -> None:
    from ledger.api.problems import status_for
    from projections.service import ReadSide, ReadStoreUnavailable
    from projections.store import ReadPool, ReadStore

    ledger = make_app(pg_schema_url)
    store = ReadStore.for_database(pg_schema_url, ReadPool(size=1, overflow=0, wait_seconds=0.3))
    store.ensure_schema()
    rs = ReadSide(ledger.event_log, store)

    async def exhaust() -> None:
        async with store.async_engine.connect() as held:
            await held.exec_driver_sql("SELECT 1")
            with pytest.raises(ReadStoreUnavailable) as refused:
                async with rs.read():
                    pass
            assert status_for(refused.value) == 503
        async with rs.read() as r:  # the connection is back: reads answer again
            assert r.position == 0
        await store.async_engine.dispose()

    try:
        asyncio.run(exhaust())
    finally:
        store.close()
        ledger.close()
