"""Part 2: balance queries in-process (the query functions) and over HTTP (wrk GETs)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.harness import server, wrk
from bench.harness.core import Alarms, percentile_ms
from bench.harness.server import DONOR
from bench.projection_seed import AS_OF
from projections import queries
from projections.queries import Cut
from projections.store import (
    ReadStore,
    active_tables,
)
from projections.tables import Tables

QueryFn = Callable[[AsyncConnection, Tables], Awaitable[int]]


@dataclass
class Latency:
    name: str
    samples: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    rows: int | None = None
    rate: float | None = None  # HTTP: requests/s at the wrk concurrency
    failed: int = 0
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QuerySpec:
    key: str
    name: str
    run: QueryFn  # returns the rows answered
    where: Callable[[Tables], Any] | None = None  # the postings it reads, to count them


def query_specs(busy: str, quiet: str) -> list[QuerySpec]:
    async def control(conn: AsyncConnection, _: Tables) -> int:
        await conn.execute(text("SELECT 1"))
        return 1

    def school(code: str) -> QueryFn:
        async def run(conn: AsyncConnection, t: Tables) -> int:
            return len(await queries.school_rows(conn, t, code, Cut()))

        return run

    async def donor(conn: AsyncConnection, t: Tables) -> int:
        return len(await queries.donor_rows(conn, t, DONOR, Cut()))

    async def trial(conn: AsyncConnection, t: Tables) -> int:
        return len(await queries.account_balances(conn, t, None, Cut()))

    async def trial_as_of(conn: AsyncConnection, t: Tables) -> int:
        return len(await queries.account_balances(conn, t, None, Cut(as_of=AS_OF)))

    return [
        QuerySpec("control", "SELECT 1 (control)", control),
        QuerySpec(
            "school_quiet",
            f"school_rows {quiet} (quiet)",
            school(quiet),
            lambda t: t.postings.c.school == quiet,
        ),
        QuerySpec(
            "school_busy",
            f"school_rows {busy} (busy)",
            school(busy),
            lambda t: t.postings.c.school == busy,
        ),
        QuerySpec(
            "donor",
            f"donor_rows {DONOR} (all history)",
            donor,
            lambda t: t.postings.c.donor == DONOR,
        ),
        QuerySpec("trial", "account_balances (running balances)", trial),
        QuerySpec(
            "trial_as_of",
            f"account_balances as_of={AS_OF} (postings)",
            trial_as_of,
            lambda t: t.postings.c.value_date <= AS_OF,
        ),
    ]


def in_process_queries(
    store: ReadStore, specs: list[QuerySpec], samples: int, cap: float
) -> dict[str, Latency]:
    return asyncio.run(_in_process_queries(store, specs, samples, cap))


async def _in_process_queries(
    store: ReadStore, specs: list[QuerySpec], samples: int, cap: float
) -> dict[str, Latency]:
    """Each sample: a pooled connection checked out, one query, checked back in.

    That is what one API read costs the database, minus the active-generation and
    position look-ups every route adds (the control's cost, roughly). Sequential:
    one query at a time, so this is latency without queueing.
    """
    engine = store.async_engine
    out: dict[str, Latency] = {}
    try:
        async with engine.connect() as conn:
            tables = await active_tables(conn)
        for spec in specs:
            scanned: int | None = None
            if spec.where is not None:
                async with engine.connect() as conn:
                    stmt = select(func.count()).select_from(tables.postings)
                    scanned = (await conn.execute(stmt.where(spec.where(tables)))).scalar_one()
            rows = 0
            for _ in range(max(5, samples // 20)):  # warm-up: pool, plan cache, buffers
                async with engine.connect() as conn:
                    rows = await spec.run(conn, tables)
            latencies: list[float] = []
            deadline = time.perf_counter() + cap
            while len(latencies) < samples and (
                time.perf_counter() < deadline or len(latencies) < 20
            ):
                began = time.perf_counter()
                async with engine.connect() as conn:
                    await spec.run(conn, tables)
                latencies.append(time.perf_counter() - began)
            out[spec.key] = Latency(
                name=spec.name,
                samples=len(latencies),
                p50_ms=percentile_ms(latencies, 50),
                p99_ms=percentile_ms(latencies, 99),
                max_ms=max(latencies) * 1000,
                rows=rows,
                detail={"postings_read": scanned} if scanned is not None else {},
            )
    finally:
        # The pool's asyncpg connections belong to this event loop.
        await engine.dispose()
    return out


def http_targets(busy: str, quiet: str) -> list[tuple[str, str]]:
    return [
        ("school_quiet", f"/v1/balances/schools/{quiet}"),
        ("school_busy", f"/v1/balances/schools/{busy}"),
        ("donor", f"/v1/balances/donors/{DONOR}"),
        ("trial", "/v1/balances/trial-balance"),
        ("trial_as_of", f"/v1/balances/trial-balance?as_of={AS_OF}"),
    ]


def wrk_get(
    base: str, path: str, connections: int, seconds: float, workdir: Path, alarms: Alarms
) -> Latency:
    """One authenticated wrk run of GETs on ``path``; any non-2xx or socket error alarms."""
    run = wrk.run_wrk(base + path, wrk.get_lua(), "get", 1, connections, seconds, workdir)
    failed = run.non_2xx + sum(run.socket_errors.values())
    if failed:
        alarms.raise_(f"GET {path}: {failed} failed requests {run.statuses} {run.socket_errors}")
    return Latency(
        name=f"GET {path}",
        samples=run.requests,
        p50_ms=run.p50_ms,
        p99_ms=run.p99_ms,
        max_ms=run.max_ms,
        rate=run.requests / run.seconds if run.seconds else None,
        failed=failed,
        detail={
            "statuses": run.statuses,
            "socket_errors": run.socket_errors,
            "wrk": f"-t1 -c{connections}",
        },
    )


def http_queries(
    base: str, targets: list[tuple[str, str]], connections: int, seconds: float,
    workdir: Path, alarms: Alarms,
) -> dict[str, Latency]:  # fmt: skip
    with server.client(timeout=30.0) as client:
        for _, path in targets:  # a first answer each: plan caches, and a 200 at all
            answer = client.get(base + path)
            if answer.status_code != 200:
                alarms.raise_(f"GET {path} answered {answer.status_code}: {answer.text[:200]}")
    out: dict[str, Latency] = {}
    for key, path in targets:
        out[key] = wrk_get(base, path, connections, seconds, workdir, alarms)
    return out


# -- the server -----------------------------------------------------------------------
