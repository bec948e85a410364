"""The write benchmark's phases: seeding, the two baselines, the in-process ledger and
the reconciliation of what was acknowledged against what the store recorded."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.harness.core import Alarms, Figure, LoopResult, loop_figure, percentile_ms, run_threads
from bench.harness.db import bench_settings, schema_url
from bench.harness.server import ACTOR, DONOR
from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context
from ledger.infrastructure.settings import Settings, eventsourcing_env
from server.bootstrap import build_ledger

# A commitment far beyond what any run can disburse, so "exceeds the undisbursed
# commitment" can never be the reason a request fails.
COMMITMENT = 10**14
AMOUNT = 10_000  # tiyn per disbursement (100 KZT)
VALUE_DATE_GRANT = dt.date(2024, 1, 10)
VALUE_DATE_PAYMENT = dt.date(2024, 2, 1)
RAW_PAYLOAD_BYTES = 300  # about one serialised ledger event


# -- seeding ------------------------------------------------------------------------


# Each measured phase disburses over its own fresh grants (and schools, whose accounts
# are written too). Loading an aggregate replays its whole history, so a phase that
# inherited the previous phase's events would be measured against a heavier store.
SPREAD_SETS = ("inproc", "c1", "c32", "c32np")
WARMUP_GRANTS = 50

# The server setting that turns the embedded projection runner off (a separate
# `ledger projections run` process then follows the log). When the ledger has no
# such setting, the "projections off" variant is skipped.
PROJECTIONS_SWITCH = (
    "LEDGER_RUN_PROJECTIONS" if "run_projections" in Settings.model_fields else None
)


def seed(app: LedgerApplication, n_schools: int, tag: str) -> dict[str, list[str]]:
    """Register the donor, then per set ``n_schools`` hub schools with one grant each.

    Returns grant ids per set, plus ``warmup`` (a few grants the warm-ups wear out)
    and ``hot`` (one grant on a school of its own).
    """
    counter = iter(range(10**9))
    counter_lock = threading.Lock()

    def ctx() -> Context:
        with counter_lock:
            n = next(counter)
        return Context(ACTOR, f"seed-{tag}-{n:08d}")

    app.register_donor(ctx(), code=DONOR, name="Benchmark donor")
    sizes = {name: n_schools for name in SPREAD_SETS} | {"warmup": WARMUP_GRANTS, "hot": 1}
    codes = [(name, f"{name}-{i:04d}") for name, size in sizes.items() for i in range(size)]

    def school(item: tuple[str, str]) -> None:
        app.register_school(
            ctx(),
            code=item[1],
            name=f"Hub school {item[1]}",
            school_type="hub",
            region="aktobe",
            district="Bench district",
        )

    def grant(item: tuple[str, str]) -> str:
        recorded = app.commit_grant(
            ctx(),
            donor=DONOR,
            school=item[1],
            programme=None,
            amount=COMMITMENT,
            currency="KZT",
            value_date=VALUE_DATE_GRANT,
            reference=f"AGR-{item[1]}",
        )
        return str(recorded.response["grant_id"])

    # Concurrent seeding lets the group committer batch it: seconds, not minutes.
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(school, codes))
        grant_ids = list(pool.map(grant, codes))
    sets: dict[str, list[str]] = {name: [] for name in sizes}
    for (name, _), grant_id in zip(codes, grant_ids, strict=True):
        sets[name].append(grant_id)
    return sets


def load_ms(app: LedgerApplication, grant_id: str, repeats: int = 15) -> float:
    """Median time to load one grant from the store (a full replay: no cache, no snapshot)."""
    gid = uuid.UUID(grant_id)
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        app.get_grant(gid)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def total_disbursed(app: LedgerApplication, grant_ids: list[str]) -> int:
    return sum(app.get_grant(uuid.UUID(g)).disbursed for g in grant_ids)


def wait_until_quiet(app: LedgerApplication, settle: float = 0.6, limit: float = 30.0) -> int:
    """Wait until the log head stops moving.

    wrk stops with requests in flight; the server still finishes them (a sync route
    is not cancelled by a closed socket), so the store is read only once it is idle.
    """
    deadline = time.monotonic() + limit
    head = app.log_head()
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = app.log_head()
        if now != head:
            head, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= settle:
            break
    return head


# -- baseline (a): the bare eventsourcing library -----------------------------------


class Tick(Aggregate):
    """The cheapest aggregate the library can save: no attributes on its event."""

    def __init__(self) -> None:
        self.ticks = 0

    @event("Ticked")
    def tick(self) -> None:
        self.ticks += 1


def bare_library(
    base: str, schema: str, threads: int, warmup: float, duration: float
) -> tuple[Figure, int]:
    env = eventsourcing_env(schema_url(base, schema), pool_size=threads)
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


# -- baseline (b): raw asyncpg commits ----------------------------------------------


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
    return Figure(
        name="raw asyncpg INSERT commit",
        unit="rows/s",
        rate=len(latencies) / duration,
        ok=len(latencies),
        failed=0,
        seconds=duration,
        concurrency=conns,
        p50_ms=percentile_ms(latencies, 50),
        p99_ms=percentile_ms(latencies, 99),
        max_ms=max(latencies) * 1000 if latencies else None,
        detail={"stored_rows": stored, "inserted": ok_total, "payload_bytes": RAW_PAYLOAD_BYTES},
    )


# -- (c) the ledger in-process ------------------------------------------------------


def in_process(
    url: str, grants: list[str], threads: int, warmup: float, duration: float, tag: str
) -> tuple[Figure, LoopResult]:
    # Built as one server process builds it (server.bootstrap, Settings.pool_size), so
    # the only difference from one HTTP worker is the HTTP layer itself.
    app = build_ledger(bench_settings(url))
    grant_ids = [uuid.UUID(g) for g in grants]
    try:

        def make(tid: int) -> Callable[[], None]:
            rng = random.Random(tid)
            n = 0

            def op() -> None:
                nonlocal n
                n += 1
                app.disburse(
                    Context(ACTOR, f"inproc-{tag}-{tid}-{n}-{rng.getrandbits(32):08x}"),
                    grant_id=rng.choice(grant_ids),
                    amount=AMOUNT,
                    currency="KZT",
                    value_date=VALUE_DATE_PAYMENT,
                    payment_reference=f"PP-{tid}-{n}",
                )

            return op

        result, seconds = run_threads(threads, warmup, duration, make)
        stats = asdict(app.committer.stats)
    finally:
        app.close()
    figure = loop_figure("ledger in-process disburse", "commands/s", threads, result, seconds)
    transactions = stats["transactions"]
    stats["mean_batch"] = round(stats["commands"] / transactions, 2) if transactions else 0.0
    figure.detail["committer"] = stats
    return figure, result


@dataclass
class Reconciliation:
    """Acknowledged requests against what the store actually recorded."""

    phase: str
    acknowledged: int  # 2xx responses (or successful in-process calls)
    recorded: int  # disbursed delta / AMOUNT
    in_flight_at_stop: int  # requests wrk sent but never saw answered
    verdict: str


def reconcile(
    phase: str, acknowledged: int, recorded: int, in_flight: int, alarms: Alarms
) -> Reconciliation:
    if recorded < acknowledged:
        verdict = "LOST WRITES"
        alarms.raise_(
            f"{phase}: {acknowledged} disbursements acknowledged but only {recorded} recorded"
        )
    elif recorded > acknowledged + in_flight:
        verdict = "PHANTOM WRITES"
        alarms.raise_(
            f"{phase}: {recorded} recorded, more than {acknowledged} acknowledged "
            f"+ {in_flight} in flight when the load stopped"
        )
    elif recorded == acknowledged:
        verdict = "exact"
    else:
        verdict = f"ok ({recorded - acknowledged} answered after the client stopped)"
    return Reconciliation(phase, acknowledged, recorded, in_flight, verdict)
