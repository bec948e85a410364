"""Read-side benchmark: projection catch-up, balance queries and lag, against baselines.

One run, one PostgreSQL, one machine:

* catch-up: a fresh generation of read models replays a ~100,000-event log, next to
  the library's raw read of the same log (``select_notifications`` paging) and raw
  read + decode (``mapper.to_domain_event``);
* balance queries: p50/p99 at ~1,000 and at ~100,000 events, in-process (the query
  functions on ``ReadStore.async_engine``) and over HTTP (``ledger serve`` + wrk);
* lag: the embedded runner's lag (``GET /v1/projections/status``, every 100 ms) while
  wrk drives disbursements.

Absolute numbers on a shared 2-core box are noise; the ratios between figures taken in
the same run are the result. See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if not __package__:  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import core, db, server
from bench.harness.core import VENV_BIN, Alarms, log
from bench.projection_catchup import ReadPass, analyze, check_read_models, fresh_catch_up, raw_pass
from bench.projection_lag import lag_phase, wait_idle
from bench.projection_queries import (
    Latency,
    http_queries,
    http_targets,
    in_process_queries,
    query_specs,
)
from bench.projection_report import code_version, py_spy, server_profiles
from bench.projection_seed import Keys, event_count, seed_small, seed_volume
from bench.projection_summary import print_summary
from ledger.application.app import LedgerApplication
from projections.runner import ProjectionRunner
from projections.store import ReadStore
from server.bootstrap import build_ledger, build_read_store


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument(
        "--database-url",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", core.DEFAULT_URL),
        help="PostgreSQL server/database (no ?schema: a fresh schema is made per run)",
    )
    p.add_argument("--events", type=int, default=100_000, help="log size for the large case")
    p.add_argument("--schools", type=int, default=100, help="busy schools (one grant each)")
    p.add_argument("--quiet-schools", type=int, default=10, help="schools with no volume")
    p.add_argument("--seed-threads", type=int, default=64, help="threads recording commands")
    p.add_argument("--batch", type=int, default=500, help="notifications per page (runner's)")
    p.add_argument("--query-samples", type=int, default=400, help="per in-process query")
    p.add_argument("--query-cap", type=float, default=4.0, help="seconds per in-process query")
    p.add_argument("--wrk-seconds", type=float, default=5.0, help="per HTTP read endpoint")
    p.add_argument("--wrk-connections", type=int, default=4, help="wrk -c for the reads")
    p.add_argument("--load-seconds", type=float, default=15.0, help="write load for the lag")
    p.add_argument("--load-connections", type=int, default=16, help="wrk -c for the writes")
    p.add_argument("--sample-interval", type=float, default=0.1, help="status poll (seconds)")
    p.add_argument("--idle-seconds", type=float, default=2.0, help="lag sampled before load")
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers for ledger serve")
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the catch-up (this process) and the server under the write load",
    )
    p.add_argument("--keep-logs", action="store_true", help="keep server logs, wrk scripts")
    return p.parse_args()


def preflight(args: argparse.Namespace) -> None:
    core.preflight(args.database_url)
    if args.profile and not (VENV_BIN / "py-spy").exists():
        sys.exit(f"--profile needs {VENV_BIN / 'py-spy'} (.venv/bin/pip install py-spy)")


@dataclass
class Measured:
    """What the three parts found, for the summary and the JSON."""

    version: str
    small_events: int = 0
    large_events: int = 0
    passes: list[ReadPass] = field(default_factory=list)
    raw_rate: float = 0.0
    decode_rate: float = 0.0
    catch_up: ReadPass | None = None
    inproc_small: dict[str, Latency] = field(default_factory=dict)
    inproc_large: dict[str, Latency] = field(default_factory=dict)
    http_small: dict[str, Latency] = field(default_factory=dict)
    http_large: dict[str, Latency] = field(default_factory=dict)
    lag: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)


def volume(
    args: argparse.Namespace, app: LedgerApplication, keys: Keys, seeded: Any, alarms: Alarms
) -> dict[str, Any]:
    """Record commands until the log holds ``--events`` events; the seeding figures."""
    log(f"recording commands until the log holds ~{args.events:,} events")
    small_events = event_count(app)
    t0 = time.monotonic()
    committer_before = asdict(app.committer.stats)
    rng = random.Random(20240201)
    n_disb, n_spend, failures = seed_volume(app, keys, seeded, args.events, args.seed_threads, rng)
    seed_volume_s = time.monotonic() - t0
    large_events = event_count(app)
    large_head = app.log_head()
    if failures:
        alarms.raise_(f"seeding the volume: failed commands {dict(failures)}")
    committer = {k: v - committer_before[k] for k, v in asdict(app.committer.stats).items()}
    committer["largest_batch"] = app.committer.stats.largest_batch
    log(
        f"volume: {n_disb:,} disbursements + {n_spend:,} expenditures -> "
        f"{large_events:,} events in {seed_volume_s:.1f}s "
        f"({(n_disb + n_spend) / seed_volume_s:,.0f} commands/s, "
        f"{(large_events - small_events) / seed_volume_s:,.0f} events/s; log head "
        f"{large_head:,}; committer conflicts {committer['conflicts']:,})"
    )
    if committer["conflicts"]:
        log("   (conflicts make the committer re-commit batches one command at a time)")
    return {
        "large_events": large_events,
        "large_log_head": large_head,
        "volume_seconds": round(seed_volume_s, 2),
        "volume_disbursements": n_disb,
        "volume_expenditures": n_spend,
        "volume_commands_per_s": (n_disb + n_spend) / seed_volume_s,
        "volume_events_per_s": (large_events - small_events) / seed_volume_s,
        "committer": committer,
    }


def catch_up_part(
    args: argparse.Namespace,
    m: Measured,
    app: LedgerApplication,
    runner: ProjectionRunner,
    head: int,
    workdir: Path,
) -> None:
    """Part 1: the projection's catch-up bracketed by raw and raw + decode reads."""
    log(f"reading the log: raw, raw + decode, projection, then again (batch {args.batch})")
    m.passes = [
        raw_pass(app, head, args.batch, False, "raw select_notifications (1)"),
        raw_pass(app, head, args.batch, True, "raw + to_domain_event (1)"),
    ]
    with py_spy(os.getpid(), workdir / "catch-up.pyspy.txt", args.profile, idle=True):
        m.catch_up, _ = fresh_catch_up(runner, head)
    m.passes.append(m.catch_up)
    m.passes.append(raw_pass(app, head, args.batch, True, "raw + to_domain_event (2)"))
    m.passes.append(raw_pass(app, head, args.batch, False, "raw select_notifications (2)"))
    # Baselines bracket the catch-up in time: their mean is what the log read cost
    # around it, whatever else the machine was doing.
    m.raw_rate = statistics.fmean([m.passes[0].rate, m.passes[4].rate])
    m.decode_rate = statistics.fmean([m.passes[1].rate, m.passes[3].rate])


def measure(
    args: argparse.Namespace, m: Measured, url: str, tag: str, workdir: Path, alarms: Alarms
) -> None:
    """The small log and part 2 on it, the volume, part 1, then parts 2 and 3 on the large log."""
    # Seeding posts each school's float (above the served approval threshold) at once:
    # bench_settings raises the threshold; the benchmark measures the read side.
    settings = db.bench_settings(url, pool_size=16)
    app = build_ledger(settings)
    store: ReadStore | None = None
    try:
        keys = Keys(tag)
        t0 = time.monotonic()
        seeded, failures = seed_small(app, keys, args.schools, args.quiet_schools, 16)
        m.small_events = event_count(app)
        seed_small_s = time.monotonic() - t0
        if failures:
            alarms.raise_(f"seeding the small log: failed commands {dict(failures)}")
        log(
            f"small log: {m.small_events:,} events ({sum(seeded.commands.values()):,} commands, "
            f"{len(seeded.busy)} busy + {len(seeded.quiet)} quiet schools) in {seed_small_s:.1f}s"
        )
        store = build_read_store(settings)
        runner = ProjectionRunner(app.event_log, store, batch_size=args.batch)
        runner.catch_up()
        analyze(store)
        m.checks = {"small": check_read_models(app, store, alarms, "small log")}
        busy, quiet = seeded.busy[0], seeded.quiet[0]
        specs, targets = query_specs(busy, quiet), http_targets(busy, quiet)
        log("in-process queries on the small log")
        m.inproc_small = in_process_queries(store, specs, args.query_samples, args.query_cap)
        log(f"HTTP reads on the small log: wrk -t1 -c{args.wrk_connections} per endpoint")
        with server.ledger_server(url, args.workers, workdir / "server-small.log") as http:
            m.http_small = http_queries(
                http.base, targets, args.wrk_connections, args.wrk_seconds, workdir, alarms
            )

        seeding: dict[str, Any] = {
            "small_events": m.small_events,
            "small_seconds": round(seed_small_s, 2),
        }
        seeding |= volume(args, app, keys, seeded, alarms)
        seeding["commands"] = dict(seeded.commands)
        m.large_events = seeding["large_events"]
        catch_up_part(args, m, app, runner, seeding["large_log_head"], workdir)
        m.checks["large"] = check_read_models(app, store, alarms, "after the catch-up")
        analyze(store)

        log("in-process queries on the large log")
        m.inproc_large = in_process_queries(store, specs, args.query_samples, args.query_cap)
        log(f"HTTP reads on the large log: wrk -t1 -c{args.wrk_connections} per endpoint")
        with server.ledger_server(url, args.workers, workdir / "server-large.log") as http:
            m.http_large = http_queries(
                http.base, targets, args.wrk_connections, args.wrk_seconds, workdir, alarms
            )
            pid = http.pid
            m.lag = lag_phase(
                app,
                http.base,
                seeded.busy_grants,
                tag,
                args,
                workdir,
                alarms,
                lambda: server_profiles(pid, workdir, args.profile),
            )
            _, last_lag = wait_idle(http.base)
            if last_lag != 0:
                alarms.raise_(f"projections still {last_lag} events behind after the load")
        m.checks["after_load"] = check_read_models(app, store, alarms, "after the write load")
        m.result = {
            "seeding": seeding,
            "catch_up": [asdict(p) for p in m.passes],
            "catch_up_baselines": {"raw_mean": m.raw_rate, "decode_mean": m.decode_rate},
            "queries_in_process": {
                "small": {k: asdict(v) for k, v in m.inproc_small.items()},
                "large": {k: asdict(v) for k, v in m.inproc_large.items()},
            },
            "queries_http": {
                "small": {k: asdict(v) for k, v in m.http_small.items()},
                "large": {k: asdict(v) for k, v in m.http_large.items()},
            },
            "lag": m.lag,
            "checks": m.checks,
        }
    finally:
        if store is not None:
            store.close()
        app.close()


def main() -> int:
    args = parse_args()
    preflight(args)
    now, stamp, tag = core.run_stamp()
    schema = f"bench_{tag}_read"
    base_url = args.database_url
    alarms = Alarms()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="projection-bench-"))
    load_at_start = os.getloadavg()[0]
    m = Measured(code_version())
    log(f"code {m.version}; PostgreSQL {db.server_version(base_url)}; schema {schema}")
    log(f"load average {load_at_start:.2f} on {os.cpu_count()} CPUs before the run")
    with db.fresh_schemas(base_url, [schema], alarms):
        measure(args, m, db.schema_url(base_url, schema), tag, workdir, alarms)

    ratios = print_summary(args, m, stamp, load_at_start, workdir)
    core.write_results(
        "projection",
        stamp,
        {
            "timestamp": now.isoformat(),
            "code": m.version,
            "host": core.host(load_at_start, db.server_version(base_url)),
            "config": {k: v for k, v in vars(args).items() if k != "database_url"},
            **m.result,
            "ratios": ratios,
            "alarms": alarms.items,
            "runtime_seconds": round(time.monotonic() - started, 1),
        },
    )
    print(f"total runtime {time.monotonic() - started:.0f}s")
    if args.keep_logs or args.profile or alarms.items:
        print(f"server logs, wrk scripts and profiles kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return alarms.banner()


if __name__ == "__main__":
    core.run_main(main)
