"""In-process write throughput and CPU per command, next to the bare library, same run.

    .venv/bin/python bench/sequencer_bench.py [--threads 32] [--duration 8] [--grants 64]

Phases, each on PostgreSQL in fresh schemas (dropped at the end):
  * bare: the eventsourcing library alone, 16 threads each saving one trivial event
    per ``app.save()`` (the library's own write floor on this machine);
  * spread: N threads calling ``disburse()`` on random grants of a set of ``--grants``;
  * hot: N threads calling ``disburse()`` on one grant.
CPU per command is this process's ``time.process_time()`` over the window divided by
the commands completed (every thread of the process counts: callers, the sequencer,
the driver). Exits 1 if a grant's disbursed total differs from what was acknowledged.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from ledger.application.app import LedgerApplication
from ledger.application.grant_commands import Disburse
from ledger.application.unit_of_work import Context
from ledger.infrastructure.settings import Settings, eventsourcing_env
from server.bootstrap import build_ledger

URL = os.environ.get("LEDGER_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
AMOUNT = 10_000
COMMITMENT = 10**14
PAID_ON = dt.date(2024, 2, 1)


class Tick(Aggregate):
    def __init__(self) -> None:
        self.ticks = 0

    @event("Ticked")
    def tick(self) -> None:
        self.ticks += 1


def run(
    threads: int, warmup: float, duration: float, op: Callable[[int], None]
) -> tuple[int, float]:
    """Commands completed inside the window, and the process CPU seconds it used."""
    stop = time.monotonic() + warmup + duration
    measuring = threading.Event()
    counts = [0] * threads

    def loop(tid: int) -> None:
        while time.monotonic() < stop:
            op(tid)
            if measuring.is_set():
                counts[tid] += 1

    pool = [threading.Thread(target=loop, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    time.sleep(warmup)
    cpu0 = time.process_time()
    measuring.set()
    for t in pool:
        t.join()
    return sum(counts), time.process_time() - cpu0


def bare(url: str, threads: int, warmup: float, duration: float) -> float:
    env = eventsourcing_env(url, pool_size=threads)
    env.pop("APPLICATION_RECORDER_TOPIC", None)  # the library's own recorder
    app: Application[Any] = Application(env)
    ticks = [Tick() for _ in range(threads)]
    for t in ticks:
        app.save(t)

    def op(tid: int) -> None:
        ticks[tid].tick()
        app.save(ticks[tid])

    try:
        done, _ = run(threads, warmup, duration, op)
    finally:
        app.close()
    return done / duration


def seed(app: LedgerApplication, n: int) -> list[uuid.UUID]:
    def ctx() -> Context:
        return Context("bench", secrets.token_hex(12))

    app.register_donor(ctx(), code="bench-donor", name="Benchmark donor")

    def grant(i: int) -> uuid.UUID:
        code = f"s-{i:04d}"
        app.register_school(
            ctx(), code=code, name=code, school_type="hub", region="aktobe", district="Bench"
        )
        recorded = app.commit_grant(
            ctx(), donor="bench-donor", school=code, programme=None, amount=COMMITMENT,
            currency="KZT", value_date=dt.date(2024, 1, 10), reference=f"AGR-{code}",
        )  # fmt: skip
        return uuid.UUID(recorded.response["grant_id"])

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(grant, range(n)))


def disbursing(app: LedgerApplication, grants: list[uuid.UUID]) -> Callable[[int], None]:
    def op(tid: int) -> None:
        app.disburse(
            Context("bench", f"{tid}-{secrets.token_hex(10)}"), grant_id=random.choice(grants),
            amount=AMOUNT, currency="KZT", value_date=PAID_ON, payment_reference="PP",
        )  # fmt: skip

    return op


def batching(
    app: LedgerApplication, grants: list[uuid.UUID], size: int, acknowledged: list[int]
) -> Callable[[int], None]:
    """One caller hands over ``size`` commands at once (what POST /v1/batches does) and
    waits for all their answers; counted per command."""

    def op(tid: int) -> None:
        futures = [
            app.submit(
                Context("bench", f"b{tid}-{secrets.token_hex(10)}"),
                Disburse(
                    grant_id=random.choice(grants), amount=AMOUNT, currency="KZT",
                    value_date=PAID_ON, payment_reference="PP",
                ),
            )
            for _ in range(size)
        ]  # fmt: skip
        for f in futures:
            app.settle(f)
        acknowledged[0] += size

    return op


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--grants", type=int, default=64)
    args = parser.parse_args()
    tag = f"seqbench_{secrets.token_hex(4)}"
    schemas = [f"{tag}_ledger", f"{tag}_lib"]
    with psycopg.connect(URL, autocommit=True) as conn:
        for s in schemas:
            conn.execute(f'CREATE SCHEMA "{s}"')
    try:
        lib = bare(f"{URL}?schema={schemas[1]}", 16, args.warmup, args.duration)
        settings = Settings(database_url=f"{URL}?schema={schemas[0]}", pool_size=4)
        app = build_ledger(settings, approvals=False)
        try:
            grants = seed(app, args.grants + 1)
            spread, hot = grants[:-1], grants[-1:]
            rows = []
            for name, chosen in (("spread", spread), ("hot", hot)):
                before = app.committer.stats.transactions, app.committer.stats.commands
                done, cpu = run(args.threads, args.warmup, args.duration, disbursing(app, chosen))
                tx = app.committer.stats.transactions - before[0]
                cmds = app.committer.stats.commands - before[1]
                rows.append(
                    (name, done / args.duration, cpu * 1000 / max(done, 1), cmds / max(tx, 1))
                )
            before = app.committer.stats.transactions, app.committer.stats.commands
            batched = [0]
            done, cpu = run(1, args.warmup, args.duration, batching(app, spread, 1000, batched))
            tx = app.committer.stats.transactions - before[0]
            cmds = app.committer.stats.commands - before[1]
            rows.append(
                ("batch", done * 1000 / args.duration, cpu * 1000 / max(done * 1000, 1),
                 cmds / max(tx, 1))
            )  # fmt: skip
            acknowledged = app.committer.stats.commands
            paid = sum(app.get_grant(g).disbursed for g in grants) // AMOUNT
        finally:
            app.close()
    finally:
        with psycopg.connect(URL, autocommit=True) as conn:
            for s in schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')
    print(f"bare eventsourcing save, 16 threads: {lib:8.1f} saves/s")
    head = ("phase", "threads", "cmds/s", "cpu ms/cmd", "cmds/commit", "x bare")
    print("{:8} {:>7} {:>9} {:>11} {:>12} {:>7}".format(*head))
    for name, rate, cpu_ms, per_commit in rows:
        cells = (name, args.threads, rate, cpu_ms, per_commit, rate / lib)
        print("{:8} {:7d} {:9.1f} {:11.3f} {:12.1f} {:7.2f}".format(*cells))
    # Seeding recorded 2 commands per grant plus the donor; the rest were disbursements.
    disbursements = acknowledged - (2 * len(grants) + 1)
    if paid != disbursements:
        print(f"MISMATCH: {paid} disbursements stored, {disbursements} acknowledged")
        return 1
    print(f"exact: {paid} disbursements stored and acknowledged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
