"""Projection lag while recording, in process: from a command's commit to its projection.

The system is built as ``ledger serve`` builds it (``server.bootstrap.build``, runner
and listeners included) on a fresh schema of its own: a donor, ``--lag-grants`` schools
with one grant each, then ``--lag-threads`` threads disbursing on random grants for
``--lag-seconds`` (optionally paced to ``--lag-rate`` commands/s in all). Each command's
lag is the time from its return (committed) to the runner committing a batch that
reaches its position, taken from the runner's own advance callback: no polling, so no
resolution limit and no extra load. The HTTP lag (``projection_bench.py``) adds the
request path and the status endpoint's sampling.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from ledger.application.unit_of_work import Context
from ledger.infrastructure.settings import Settings
from projections.store import active_generation, tracked_position
from projections.tables import tables_for
from server.bootstrap import System, build

AMOUNT = 10_000
COMMITMENT = 10**14
NO_APPROVAL_LIMIT = {"KZT": 10**18}  # disbursements post at once, as the write bench's do
VALUE_DATE_GRANT = dt.date(2024, 1, 10)
VALUE_DATE_PAYMENT = dt.date(2024, 2, 1)


@dataclass
class LagResult:
    commands: int
    seconds: float
    p50: float
    p99: float
    max: float
    unapplied: int  # commands whose position the runner had not reached at the end

    @property
    def rate(self) -> float:
        return self.commands / self.seconds


@contextmanager
def lag_schema(base: str) -> Iterator[str]:
    name = f"bench_lag_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield f"{base}?schema={name}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '15s'")
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def _seed(system: System, grants: int) -> list[uuid.UUID]:
    app = system.ledger

    def ctx(what: str) -> Context:
        return Context("bench-lag", f"seed-{what}-{uuid.uuid4().hex}")

    app.register_donor(ctx("donor"), code="lag-donor", name="Lag donor")
    ids = []
    for i in range(grants):
        code = f"lag-{i:03d}"
        app.register_school(
            ctx("school"), code=code, name=f"School {code}", school_type="hub",
            region="aktobe", district="Bench district",
        )  # fmt: skip
        recorded = app.commit_grant(
            ctx("grant"), donor="lag-donor", school=code, programme=None, amount=COMMITMENT,
            currency="KZT", value_date=VALUE_DATE_GRANT, reference=f"AGR-{code}",
        )  # fmt: skip
        ids.append(uuid.UUID(str(recorded.response["grant_id"])))
    return ids


def _position(system: System) -> int:
    """Where the live read models are: the runner's own note of it, else (an older tree
    compared against) the tracking row."""
    noted = getattr(system.runner, "position", None)
    if noted is not None:
        return int(noted)
    with system.store.engine.connect() as conn:
        return tracked_position(conn, tables_for(active_generation(conn)))


def _wait_applied(system: System, position: int, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while _position(system) < position and time.monotonic() < deadline:
        time.sleep(0.01)


def measure_lag(
    base: str, *, grants: int, threads: int, seconds: float, rate: float | None
) -> LagResult:
    """Record for ``seconds`` and return the commit-to-projection lag distribution."""
    with lag_schema(base) as url:
        # A few connections: the database's are shared with everything else on the machine.
        settings = Settings(
            database_url=url, approval_thresholds=NO_APPROVAL_LIMIT, pool_size=min(threads, 6)
        )
        system = build(settings, follow=True)
        runner = system.runner
        assert runner is not None
        # (monotonic time, position) of every batch the runner commits, in order.
        applied: list[tuple[float, int]] = []
        runner.on_advance.append(lambda: applied.append((time.monotonic(), _position(system))))
        system.start()
        try:
            ids = _seed(system, grants)
            _wait_applied(system, system.ledger.log_head())
            recorded: list[tuple[float, int]] = []
            stop_at = time.monotonic() + seconds
            pace = threads / rate if rate else 0.0

            def work(n: int) -> None:
                rnd = random.Random(n)
                due = time.monotonic()
                while time.monotonic() < stop_at:
                    r = system.ledger.disburse(
                        Context("bench-lag", f"lag-{n}-{uuid.uuid4().hex}"),
                        grant_id=rnd.choice(ids), amount=AMOUNT, currency="KZT",
                        value_date=VALUE_DATE_PAYMENT, payment_reference="LAG",
                    )  # fmt: skip
                    recorded.append((time.monotonic(), r.position))
                    if pace:
                        due += pace
                        time.sleep(max(0.0, due - time.monotonic()))

            started = time.monotonic()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(work, range(threads)))
            elapsed = time.monotonic() - started
            _wait_applied(system, max(p for _, p in recorded), limit=30.0)
        finally:
            system.close()
    return _lags(recorded, applied, elapsed)


def _lags(
    recorded: list[tuple[float, int]], applied: list[tuple[float, int]], elapsed: float
) -> LagResult:
    times = [t for t, _ in applied]
    positions = [p for _, p in applied]  # never decreasing: the runner only moves on
    lags, unapplied = [], 0
    for committed, position in recorded:
        # The first batch that reached this command's position; it may have committed
        # before the command's thread got back (lag 0).
        i = bisect.bisect_left(positions, position)
        if i == len(applied):
            unapplied += 1
            continue
        lags.append(max(0.0, times[i] - committed))
    lags.sort()

    def pct(p: float) -> float:
        return lags[min(len(lags) - 1, max(0, round(p / 100 * len(lags)) - 1))] if lags else 0.0

    return LagResult(
        len(recorded), elapsed, statistics.median(lags) if lags else 0.0, pct(99),
        lags[-1] if lags else 0.0, unapplied,
    )  # fmt: skip
