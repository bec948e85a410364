"""Write-path benchmark: ledger disbursements against what the same store does bare.

One run, one PostgreSQL, one machine:

* HTTP: ``ledger serve`` driven by wrk (disbursements at c1, c32, c32 on one hot grant,
  the batch route, c32 again with the embedded projections switched off, and the
  server's resident memory after ``--rss-events`` events);
* the framework's ceiling: an in-memory FastAPI stand-in with the same route shape,
  served by the same uvicorn with the same worker count (bench/standin.py);
* in-process: the same command called from threads, without HTTP;
* baselines: the bare eventsourcing library (one trivial event per save) and raw
  single-row INSERT commits (asyncpg, or sqlite3 with ``--store sqlite``).

The issue's goal table is printed at the end, as ratios of figures of this run.

Absolute numbers on a shared 2-core box are noise; the ratios between figures taken in
the same run are the result. See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if not __package__:  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import core, db
from bench.harness.core import Figure, log
from bench.write_baselines import bare_library, raw_asyncpg, raw_sqlite
from bench.write_http import Run, http_part
from bench.write_phases import (
    AMOUNT,
    SPREAD_SETS,
    WARMUP_GRANTS,
    in_process,
    load_ms,
    reconcile,
    seed,
    total_disbursed,
    wait_until_quiet,
)
from bench.write_report import goals, print_report, ratios
from ledger.application.app import LedgerApplication
from server.bootstrap import build_ledger


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measured phase")
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers (ledger, stand-in)")
    p.add_argument(
        "--store",
        choices=("postgres", "sqlite"),
        default="postgres",
        help="the ledger's event store (and the baselines'): PostgreSQL or embedded SQLite",
    )
    p.add_argument(
        "--database-url",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", core.DEFAULT_URL),
        help="PostgreSQL server/database (no ?schema: fresh schemas are made per run)",
    )
    p.add_argument("--grants", type=int, default=64, help="grants (one school each) per set")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per phase")
    p.add_argument("--baseline-threads", type=int, default=16, help="threads/conns, (a) and (b)")
    p.add_argument("--inproc-threads", type=int, default=32, help="threads for (c)")
    p.add_argument("--batch-items", type=int, default=100, help="disbursements per batch")
    p.add_argument("--batch-conns", type=int, default=8, help="wrk connections, batch phase")
    p.add_argument(
        "--rss-events",
        type=int,
        default=100_000,
        help="events the as-shipped server records before its memory is read (0: skip)",
    )
    p.add_argument("--rss-seconds", type=float, default=300.0, help="time cap of that phase")
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the server during HTTP c32 and print its CPU by layer",
    )
    p.add_argument(
        "--keep-logs",
        action="store_true",
        help="keep wrk outputs and server logs (always on alarm)",
    )
    return p.parse_args()


@dataclass
class Stores:
    """Where the ledger and the baselines write, for one run."""

    ledger: str
    library: str
    raw: Callable[[], Figure]
    label: str


@contextlib.contextmanager
def stores(run: Run) -> Iterator[Stores]:
    """Fresh PostgreSQL schemas (dropped at the end), or SQLite files in the run's directory."""
    args = run.args
    threads, warmup, duration = args.baseline_threads, args.warmup, args.duration
    if args.store == "sqlite":
        d = run.workdir / "sqlite"
        d.mkdir()
        yield Stores(
            ledger=f"sqlite:///{d}/ledger.sqlite3",
            library=f"sqlite:///{d}/library.sqlite3",
            raw=lambda: raw_sqlite(str(d / "raw.sqlite3"), threads, warmup, duration),
            label=f"SQLite files in {d}",
        )
        return
    base = args.database_url
    schemas = [f"bench_{run.tag}", f"bench_{run.tag}_lib", f"bench_{run.tag}_raw"]
    with db.fresh_schemas(base, schemas, run.alarms):
        yield Stores(
            ledger=db.schema_url(base, schemas[0]),
            library=db.schema_url(base, schemas[1]),
            raw=lambda: raw_asyncpg(base, schemas[2], threads, warmup, duration),
            label=f"PostgreSQL {db.server_version(base)}; schemas {', '.join(schemas)}",
        )


def in_process_part(
    run: Run, url: str, reader: LedgerApplication, sets: dict[str, list[str]]
) -> None:
    # In-process last: every event already in the log when a server starts is a
    # backlog its embedded projections must apply before the HTTP phases can start.
    args = run.args
    log(f"(c) ledger in-process, {args.inproc_threads} threads")
    before = total_disbursed(reader, sets["inproc"])
    run.figures["inproc"], inproc = in_process(
        url, sets["inproc"], args.inproc_threads, args.warmup, args.duration, f"{run.tag}-ip"
    )
    wait_until_quiet(reader)
    recorded = (total_disbursed(reader, sets["inproc"]) - before) // AMOUNT
    run.reconciliations.append(reconcile("in-process", inproc.ok_total, recorded, 0, run.alarms))
    if inproc.failures:
        run.alarms.raise_(f"in-process: failed commands {dict(inproc.failures)}")


def aggregate_history(reader: LedgerApplication, sets: dict[str, list[str]]) -> dict[str, Any]:
    hot_id = sets["hot"][0]
    versions = {
        name: [reader.get_grant(uuid.UUID(g)).version for g in grants]
        for name, grants in sets.items()
    }
    c32_typical = sets["c32"][0]
    return {
        "events_per_grant_at_end_median": {
            name: statistics.median(v) for name, v in versions.items()
        },
        "events_per_grant_at_end_max": {name: max(v) for name, v in versions.items()},
        # What one aggregate load costs, by history length: the ledger reads the
        # grant and the school account on every disbursement.
        "load_ms_c32_grant": round(load_ms(reader, c32_typical), 2),
        "load_ms_hot_grant": round(load_ms(reader, hot_id), 2),
        "events_c32_grant": reader.get_grant(uuid.UUID(c32_typical)).version,
        "events_hot_grant": reader.get_grant(uuid.UUID(hot_id)).version,
    }


def measure(run: Run) -> None:
    """Seed, then every phase in order, on the run's own stores."""
    args = run.args
    with stores(run) as where:
        log(where.label)
        reader = build_ledger(db.bench_settings(where.ledger, pool_size=16))
        try:
            t0 = time.monotonic()
            extra = {"batch": args.grants, "rss": 4 * args.grants}
            sets = seed(reader, args.grants, run.tag, extra)
            everything = [g for grants in sets.values() for g in grants]
            log(
                f"seeded 1 donor, {len(everything)} schools and grants ({args.grants} per "
                f"set {', '.join(SPREAD_SETS)} and batch, {4 * args.grants} rss, "
                f"{WARMUP_GRANTS} warm-up, 1 hot) in {time.monotonic() - t0:.1f}s"
            )
            log(f"(b) raw commits, {args.baseline_threads} connections")
            run.figures["raw"] = where.raw()
            log(f"(a) bare eventsourcing library, {args.baseline_threads} threads")
            run.figures["lib"], missing = bare_library(
                where.library, args.baseline_threads, args.warmup, args.duration
            )
            if missing:
                run.alarms.raise_(f"bare library: stored events differ from saves by {missing}")
            http_part(run, reader, where.ledger, sets)
            in_process_part(run, where.ledger, reader, sets)
            run.history = aggregate_history(reader, sets)
            run.final_total = total_disbursed(reader, everything)
        finally:
            reader.close()


def main() -> int:
    args = parse_args()
    core.preflight(args.database_url)
    now, stamp, tag = core.run_stamp()
    run = Run(args, tag, Path(tempfile.mkdtemp(prefix="write-bench-")))
    started = time.monotonic()
    load_at_start = os.getloadavg()[0]
    log(f"load average {load_at_start:.2f} on {os.cpu_count()} CPUs before the run")
    measure(run)

    recorded_total = sum(r.recorded for r in run.reconciliations)
    if run.final_total != recorded_total * AMOUNT:
        run.alarms.raise_(
            f"store total {run.final_total} != sum of phase deltas {recorded_total * AMOUNT}"
        )
    found = ratios(run.figures)
    goal_rows = goals(run)
    print_report(run, stamp, load_at_start, found, goal_rows)
    postgres = db.server_version(args.database_url) if args.store == "postgres" else "-"
    core.write_results(
        "write",
        stamp,
        {
            "timestamp": now.isoformat(),
            "host": core.host(load_at_start, postgres),
            "config": {k: v for k, v in vars(args).items() if k != "database_url"},
            "amount_per_disbursement": AMOUNT,
            "figures": {k: asdict(f) for k, f in run.figures.items()},
            "ratios": found,
            "goals": [asdict(g) for g in goal_rows],
            "skipped": run.skipped,
            "projection_lag": run.lag,
            "memory": run.memory,
            "profile": run.profile,
            "aggregate_history": run.history,
            "projections_catch_up": {k: asdict(v) for k, v in run.catch_ups.items()},
            "correctness": {
                "phases": [asdict(r) for r in run.reconciliations],
                "acknowledged": sum(r.acknowledged for r in run.reconciliations),
                "recorded": recorded_total,
                "store_total_disbursed": run.final_total,
            },
            "alarms": run.alarms.items,
            "runtime_seconds": round(time.monotonic() - started, 1),
        },
    )
    print(f"total runtime {time.monotonic() - started:.0f}s")
    if args.keep_logs or run.alarms.items:
        # Kept when something went wrong: the server log says why.
        print(f"wrk outputs, Lua scripts and server logs kept in {run.workdir}")
    else:
        shutil.rmtree(run.workdir, ignore_errors=True)
    return run.alarms.banner()


if __name__ == "__main__":
    core.run_main(main)
