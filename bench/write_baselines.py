"""The write benchmark's baselines: what the store does bare, on the same machine and run.

(a) the bare eventsourcing library: a trivial aggregate, one event per save;
(b) raw commits: one ~300-byte row per transaction (asyncpg on PostgreSQL, sqlite3 with
    the library's WAL journal on SQLite).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.harness.core import Figure, loop_figure, percentile_ms, run_threads
from ledger.infrastructure.settings import eventsourcing_env

RAW_PAYLOAD_BYTES = 300  # about one serialised ledger event


# -- baseline (a): the bare eventsourcing library -----------------------------------


class Tick(Aggregate):
    """The cheapest aggregate the library can save: no attributes on its event."""

    def __init__(self) -> None:
        self.ticks = 0

    @event("Ticked")
    def tick(self) -> None:
        self.ticks += 1


def bare_library(url: str, threads: int, warmup: float, duration: float) -> tuple[Figure, int]:
    """Saves/s of ``threads`` threads, each saving one event of its own aggregate per call.

    Returns the figure and how far the stored events differ from the saves made.
    """
    env = eventsourcing_env(url, pool_size=threads)
    env["POSTGRES_MAX_OVERFLOW"] = "4"
    app: Application[Any] = Application(env)
    try:

        def make(_: int) -> Callable[[], None]:
            aggregate = Tick()
            app.save(aggregate)

            def op() -> None:
                aggregate.tick()
                app.save(aggregate)

            return op

        result, seconds = run_threads(threads, warmup, duration, make)
        stored = app.recorder.max_notification_id() or 0
    finally:
        app.close()
    figure = loop_figure("bare eventsourcing save", "saves/s", threads, result, seconds)
    # One Created event per thread, then one event per successful save.
    figure.detail["stored_events"] = stored
    figure.detail["expected_events"] = threads + result.ok_total
    return figure, stored - (threads + result.ok_total)


# -- baseline (b): raw commits --------------------------------------------------------


def raw_asyncpg(base: str, schema: str, conns: int, warmup: float, duration: float) -> Figure:
    return asyncio.run(_raw_asyncpg(base, schema, conns, warmup, duration))


async def _raw_asyncpg(
    base: str, schema: str, conns: int, warmup: float, duration: float
) -> Figure:
    table = f'"{schema}".raw_rows'
    setup = await asyncpg.connect(base)
    try:
        await setup.execute(
            f"CREATE TABLE {table} (id bigserial PRIMARY KEY, payload bytea NOT NULL)"
        )
    finally:
        await setup.close()
    payload = os.urandom(RAW_PAYLOAD_BYTES)
    insert = f"INSERT INTO {table} (payload) VALUES ($1)"
    start = time.perf_counter()
    measure_from = start + warmup
    deadline = measure_from + duration
    latencies: list[float] = []
    ok_total = 0

    async def worker() -> None:
        nonlocal ok_total
        conn = await asyncpg.connect(base)
        try:
            # Outside a transaction block each statement commits on its own.
            while (began := time.perf_counter()) < deadline:
                await conn.execute(insert, payload)
                finished = time.perf_counter()
                ok_total += 1
                if measure_from <= finished <= deadline:
                    latencies.append(finished - began)
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(conns)))
    check = await asyncpg.connect(base)
    try:
        stored = await check.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await check.close()
    return _raw_figure("raw asyncpg INSERT commit", conns, latencies, duration, stored, ok_total)


def raw_sqlite(path: str, threads: int, warmup: float, duration: float) -> Figure:
    """One row per transaction from ``threads`` connections, WAL journal as the library uses."""
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE raw_rows (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
    payload = os.urandom(RAW_PAYLOAD_BYTES)
    local = threading.local()

    def make(_: int) -> Callable[[], None]:
        def op() -> None:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = sqlite3.connect(path, timeout=10, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO raw_rows (payload) VALUES (?)", (payload,))
            conn.execute("COMMIT")

        return op

    result, seconds = run_threads(threads, warmup, duration, make)
    with sqlite3.connect(path) as check:
        stored = check.execute("SELECT count(*) FROM raw_rows").fetchone()[0]
    figure = loop_figure("raw sqlite3 INSERT commit", "rows/s", threads, result, seconds)
    figure.detail.update({"stored_rows": stored, "inserted": result.ok_total})
    return figure


def _raw_figure(
    name: str, conns: int, latencies: list[float], duration: float, stored: int, inserted: int
) -> Figure:
    return Figure(
        name=name,
        unit="rows/s",
        rate=len(latencies) / duration,
        ok=len(latencies),
        failed=0,
        seconds=duration,
        concurrency=conns,
        p50_ms=percentile_ms(latencies, 50),
        p99_ms=percentile_ms(latencies, 99),
        max_ms=max(latencies) * 1000 if latencies else None,
        detail={"stored_rows": stored, "inserted": inserted, "payload_bytes": RAW_PAYLOAD_BYTES},
    )
