"""What the fiscal-period guard costs a recording command (in-process, no HTTP).

Times the guard alone (shared lock + check against a calendar with a closed month),
then runs expenditures from N threads with the guard on and off (``app.periods =
None``), alternating, on one store.
A PostgreSQL URL without ``?schema=`` gets a fresh schema, dropped at the end.
Usage: .venv/bin/python bench/period_guard_bench.py [--url URL] [--threads 16] [--commands 3000]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

if not __package__:  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import core, db
from bench.harness.core import Alarms
from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context
from ledger.infrastructure.settings import Settings
from server.bootstrap import build_ledger

_keys = itertools.count()


def ctx() -> Context:
    return Context("bench", f"bench-key-{next(_keys):010d}")


def run(app: LedgerApplication, schools: list[str], threads: int, commands: int) -> float:
    def spend(i: int) -> None:
        app.record_expenditure(
            ctx(), school=schools[i % len(schools)], amount=1, currency="KZT",
            category="equipment", value_date=dt.date(2025, 5, 1), reference=f"INV-{i}",
        )  # fmt: skip

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(spend, range(commands)))
    return commands / (time.perf_counter() - started)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", default="memory://")
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--commands", type=int, default=3000)
    args = p.parse_args()
    alarms = Alarms()
    with contextlib.ExitStack() as stack:
        url = args.url
        if url.startswith("postgres") and "?" not in url:
            # A schema of its own, dropped at the end: never the database's public schema.
            schema = f"bench_{core.run_stamp()[2]}_periods"
            stack.enter_context(db.fresh_schemas(url, [schema], alarms))
            url = db.schema_url(url, schema)
        measure(args, url)
    return alarms.banner()


def measure(args: argparse.Namespace, url: str) -> None:
    # As served (server.bootstrap): every disbursement here is below the approval threshold.
    app = build_ledger(Settings(database_url=url, pool_size=args.threads + 4))
    try:
        app.register_donor(ctx(), code="fund", name="Fund")
        schools = [f"hub-{i:03d}" for i in range(50)]
        for code in schools:
            app.register_school(ctx(), code=code, name=code, school_type="hub", region="aktobe",
                                district="d")  # fmt: skip
            grant = app.commit_grant(
                ctx(), donor="fund", school=code, programme=None, amount=10**9, currency="KZT",
                value_date=dt.date(2025, 1, 1), reference="AGR",
            ).response["grant_id"]  # fmt: skip
            app.disburse(
                ctx(), grant_id=UUID(grant), amount=10**9, currency="KZT",
                value_date=dt.date(2025, 1, 2), payment_reference="PP",
            )  # fmt: skip
        app.close_period(ctx(), period="2025-01", reason="bench")  # a calendar to check
        guard = app.periods
        n = 200_000
        started = time.perf_counter()
        for _ in range(n):
            with guard.lock.shared():
                guard.check_open(dt.date(2025, 5, 1), "an expenditure")
        micro = (time.perf_counter() - started) / n * 1e6
        print(f"guard alone: {micro:.2f} us per command (shared lock + calendar check)")
        for label in ("warm-up", "guard on", "guard off", "guard on", "guard off"):
            app.periods = None if label == "guard off" else guard  # type: ignore[assignment]
            rate = run(app, schools, args.threads, args.commands)
            print(f"{label:10s} {rate:8.0f} commands/s")
    finally:
        app.close()


if __name__ == "__main__":
    core.run_main(main)
