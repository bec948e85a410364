"""The write benchmark's phases: seeding, the in-process ledger and the reconciliation of
what was acknowledged against what the store recorded (the baselines: write_baselines)."""

from __future__ import annotations

import datetime as dt
import random
import resource
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from bench.harness.core import Alarms, Figure, LoopResult, loop_figure, run_threads
from bench.harness.db import bench_settings
from bench.harness.server import ACTOR, DONOR
from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context
from ledger.infrastructure.settings import Settings
from server.bootstrap import build_ledger

# A commitment far beyond what any run can disburse, so "exceeds the undisbursed
# commitment" can never be the reason a request fails.
COMMITMENT = 10**14
AMOUNT = 10_000  # tiyn per disbursement (100 KZT)
VALUE_DATE_GRANT = dt.date(2024, 1, 10)
VALUE_DATE_PAYMENT = dt.date(2024, 2, 1)


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


def seed(
    app: LedgerApplication, n_schools: int, tag: str, extra: dict[str, int] | None = None
) -> dict[str, list[str]]:
    """Register the donor, then per set ``n_schools`` hub schools with one grant each.

    Returns grant ids per set, plus ``warmup`` (a few grants the warm-ups wear out),
    ``hot`` (one grant on a school of its own) and the ``extra`` sets (name: size).
    """
    counter = iter(range(10**9))
    counter_lock = threading.Lock()

    def ctx() -> Context:
        with counter_lock:
            n = next(counter)
        return Context(ACTOR, f"seed-{tag}-{n:08d}")

    app.register_donor(ctx(), code=DONOR, name="Benchmark donor")
    sizes = {name: n_schools for name in SPREAD_SETS} | {"warmup": WARMUP_GRANTS, "hot": 1}
    sizes |= extra or {}
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

        cpu_before = _cpu_seconds()
        result, seconds = run_threads(threads, warmup, duration, make)
        cpu = _cpu_seconds() - cpu_before
        committer_stats = getattr(getattr(app, "committer", None), "stats", None)
        stats = asdict(committer_stats) if committer_stats is not None else {}
    finally:
        app.close()
    figure = loop_figure("ledger in-process disburse", "commands/s", threads, result, seconds)
    transactions = stats.get("transactions", 0)
    if stats:
        stats["mean_batch"] = round(stats["commands"] / transactions, 2) if transactions else 0.0
    figure.detail["committer"] = stats
    # This process's CPU (every thread) over the whole loop, warm-up included, per
    # command completed in it: what one command costs the ledger without HTTP.
    commands = result.ok_total + sum(result.failures.values())
    figure.detail["cpu_ms_per_command"] = round(1000 * cpu / commands, 3) if commands else None
    return figure, result


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
