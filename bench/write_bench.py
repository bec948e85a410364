"""Write-path benchmark: ledger disbursements against what the same store does bare.

One run, one PostgreSQL, one machine:

* HTTP: ``ledger serve`` driven by wrk (disbursements at c1, c32, c32 on one hot grant,
  and c32 again with the embedded projections switched off);
* in-process: the same command called from threads, without HTTP;
* baselines: the bare eventsourcing library (one trivial event per save) and raw
  asyncpg single-row INSERT commits.

Absolute numbers on a shared 2-core box are noise; the ratios between figures taken in
the same run are the result. See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if not __package__:  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import core, db, server, wrk
from bench.harness.core import Alarms, Figure, fmt, log, ratio
from bench.harness.server import CatchUp
from bench.write_phases import (
    AMOUNT,
    PROJECTIONS_SWITCH,
    SPREAD_SETS,
    VALUE_DATE_PAYMENT,
    WARMUP_GRANTS,
    Reconciliation,
    bare_library,
    in_process,
    load_ms,
    raw_asyncpg,
    reconcile,
    seed,
    total_disbursed,
    wait_until_quiet,
)
from ledger.application.app import LedgerApplication
from server.bootstrap import build_ledger

# name, key, wrk -t, wrk -c, grant set, seconds
HttpPhase = tuple[str, str, int, int, str, float]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measured phase")
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers for ledger serve")
    p.add_argument(
        "--database-url",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", core.DEFAULT_URL),
        help="PostgreSQL server/database (no ?schema: fresh schemas are made per run)",
    )
    p.add_argument("--schools", type=int, default=200, help="hub schools, one grant each")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per phase")
    p.add_argument("--baseline-threads", type=int, default=16, help="threads/conns, (a) and (b)")
    p.add_argument("--inproc-threads", type=int, default=32, help="threads for (c)")
    p.add_argument(
        "--keep-logs",
        action="store_true",
        help="keep wrk outputs and server logs (always on alarm)",
    )
    return p.parse_args()


@dataclass
class Run:
    """What the phases found, for the report."""

    args: argparse.Namespace
    tag: str
    workdir: Path
    alarms: Alarms = field(default_factory=Alarms)
    figures: dict[str, Figure] = field(default_factory=dict)
    reconciliations: list[Reconciliation] = field(default_factory=list)
    catch_ups: dict[str, CatchUp] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    final_total: int = 0


def servers(args: argparse.Namespace) -> list[tuple[str, dict[str, str], list[HttpPhase]]]:
    """Label, extra environment and phases of each server the HTTP part starts.

    Warm-ups have grants of their own, so no measured phase inherits their events.
    """
    out: list[tuple[str, dict[str, str], list[HttpPhase]]] = [
        (
            "as shipped (embedded projections)",
            {},
            [
                ("http warm-up", "warmup", 2, 32, "warmup", args.warmup),
                ("HTTP disburse c1", "http_c1", 1, 1, "c1", args.duration),
                ("HTTP disburse c32", "http_c32", 2, 32, "c32", args.duration),
                ("HTTP hot grant c32", "http_hot", 2, 32, "hot", args.duration),
            ],
        ),
    ]
    if PROJECTIONS_SWITCH:
        out.append(
            (
                "projections off",
                {PROJECTIONS_SWITCH: "false"},
                [
                    ("http warm-up (no proj.)", "warmup_np", 2, 32, "warmup", args.warmup),
                    ("HTTP c32, projections off", "http_c32_np", 2, 32, "c32np", args.duration),
                ],
            )
        )
    return out


def http_phase(
    run: Run,
    reader: LedgerApplication,
    base: str,
    phase: HttpPhase,
    grants: list[str],
    following: bool,
) -> None:
    """One wrk load, then the store reconciled against the 2xx answers."""
    name, key, threads, conns, _, seconds = phase
    log(f"{name}: wrk -t{threads} -c{conns} -d{max(1, round(seconds))}s")
    before = total_disbursed(reader, grants)
    script = wrk.disburse_lua(grants, f"{run.tag}-{key}", AMOUNT, VALUE_DATE_PAYMENT.isoformat())
    result = wrk.run_wrk(base, script, f"{run.tag}-{key}", threads, conns, seconds, run.workdir)
    stopped = time.monotonic()
    lag_at_stop = None
    if following:
        with server.client() as http:
            lag_at_stop, _ = server.projection_lag(http, base)
    wait_until_quiet(reader)
    recorded = (total_disbursed(reader, grants) - before) // AMOUNT
    wrk.check_wrk(name, result, run.alarms)
    # wrk calls request() once on thread 1 before the run to check the script; that
    # request is never sent, hence the - 1.
    in_flight = max(0, result.issued - 1 - result.requests)
    run.reconciliations.append(reconcile(name, result.ok_2xx, recorded, in_flight, run.alarms))
    if following:
        # The next phase starts only once the read side is idle again.
        catch_up = server.wait_projections(base)
        catch_up.lag_at_start = lag_at_stop
        catch_up.seconds = round(time.monotonic() - stopped, 2)
        run.catch_ups[name] = catch_up
    if not key.startswith("warmup"):
        run.figures[key] = wrk.http_figure(name, threads, conns, result)
        if following:
            run.figures[key].detail["projections"] = asdict(run.catch_ups[name])
        (run.workdir / f"{key}.wrk.txt").write_text(result.output)


def http_part(run: Run, url: str, reader: LedgerApplication, sets: dict[str, list[str]]) -> None:
    args = run.args
    for n, (label, extra_env, phases) in enumerate(servers(args)):
        log(f"HTTP: ledger serve --workers {args.workers}, {label}")
        logfile = run.workdir / f"server-{n}.log"
        with server.ledger_server(url, args.workers, logfile, extra_env) as http:
            if not extra_env:
                run.catch_ups["server start"] = server.wait_projections(http.base)
                log(f"projections caught up after start: {run.catch_ups['server start']}")
            for phase in phases:
                http_phase(run, reader, http.base, phase, sets[phase[4]], not extra_env)
    for when, catch_up in run.catch_ups.items():
        if catch_up.error and "answered 404" not in catch_up.error:
            run.alarms.raise_(f"projections status unknown after {when}: {catch_up.error}")
        elif catch_up.lag_at_end:
            run.alarms.raise_(
                f"projections still {catch_up.lag_at_end} events behind "
                f"{catch_up.seconds:.0f}s after {when}"
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


def measure(run: Run, base: str, schemas: list[str]) -> None:
    """Seed, then every phase in order, on the run's own schemas."""
    args = run.args
    ledger_schema, lib_schema, raw_schema = schemas
    url = db.schema_url(base, ledger_schema)
    with db.fresh_schemas(base, schemas, run.alarms):
        reader = build_ledger(db.bench_settings(url, pool_size=16))
        try:
            t0 = time.monotonic()
            sets = seed(reader, args.schools, run.tag)
            everything = [g for grants in sets.values() for g in grants]
            log(
                f"seeded 1 donor, {len(everything)} schools and grants ({args.schools} per "
                f"set {', '.join(SPREAD_SETS)}, {WARMUP_GRANTS} warm-up, 1 hot) "
                f"in {time.monotonic() - t0:.1f}s"
            )
            log(f"(b) raw asyncpg, {args.baseline_threads} connections")
            run.figures["raw"] = raw_asyncpg(
                base, raw_schema, args.baseline_threads, args.warmup, args.duration
            )
            log(f"(a) bare eventsourcing library, {args.baseline_threads} threads")
            run.figures["lib"], missing = bare_library(
                base, lib_schema, args.baseline_threads, args.warmup, args.duration
            )
            if missing:
                run.alarms.raise_(f"bare library: stored events differ from saves by {missing}")
            http_part(run, url, reader, sets)
            in_process_part(run, url, reader, sets)
            run.history = aggregate_history(reader, sets)
            run.final_total = total_disbursed(reader, everything)
        finally:
            reader.close()


def ratios(figures: dict[str, Figure]) -> dict[str, float | None]:
    f = figures.get
    return {
        "HTTP c32 / bare library": ratio(f("http_c32"), f("lib")),
        "HTTP c32 / raw asyncpg": ratio(f("http_c32"), f("raw")),
        "in-process / bare library": ratio(f("inproc"), f("lib")),
        "in-process / raw asyncpg": ratio(f("inproc"), f("raw")),
        "HTTP c32 / in-process": ratio(f("http_c32"), f("inproc")),
        "HTTP c32 no-proj / in-process": ratio(f("http_c32_np"), f("inproc")),
        "HTTP c32 / HTTP c32 no-proj": ratio(f("http_c32"), f("http_c32_np")),
        "HTTP c32 / HTTP c1": ratio(f("http_c32"), f("http_c1")),
        "HTTP hot c32 / HTTP c32": ratio(f("http_hot"), f("http_c32")),
        "bare library / raw asyncpg": ratio(f("lib"), f("raw")),
    }


def print_report(run: Run, stamp: str, load_at_start: float) -> dict[str, float | None]:
    figures, history = run.figures, run.history
    order = ["http_c1", "http_c32", "http_hot", "http_c32_np", "inproc", "lib", "raw"]
    table = [figures[k] for k in order if k in figures]
    found = ratios(figures)
    print()
    print(
        f"== write benchmark {stamp}  ({os.cpu_count()} CPUs, {run.args.duration:g}s per phase, "
        f"load average {load_at_start:.2f} before / {os.getloadavg()[0]:.2f} after)"
    )
    core.busy_note(load_at_start)
    core.print_table(table)
    print()
    print("ratios (same run):")
    for name, value in found.items():
        print(f"  {name:<30} {fmt(value, 3):>8}")
    print()
    c = figures["inproc"].detail["committer"]
    print(
        f"group commit (in-process): {c['transactions']:,} transactions for "
        f"{c['commands']:,} commands (mean batch {c['mean_batch']}, largest "
        f"{c['largest_batch']}, conflicts {c['conflicts']})"
    )
    medians = history["events_per_grant_at_end_median"]
    print(
        "events per grant at the end (median): "
        + ", ".join(f"{k} {v:g}" for k, v in medians.items())
    )
    print(
        f"one grant load (full replay): {history['load_ms_c32_grant']:.2f} ms at "
        f"{history['events_c32_grant']} events, {history['load_ms_hot_grant']:.2f} ms at "
        f"{history['events_hot_grant']} events (hot grant)"
    )
    if run.catch_ups:
        print("embedded projections (lag when the load stopped -> read side idle again):")
        for when, cu in run.catch_ups.items():
            if cu.lag_at_start is None:
                print(f"  after {when:<26} unknown: {cu.error}")
                continue
            print(
                f"  after {when:<26} lag {cu.lag_at_start:>7,} events -> "
                f"idle within {cu.seconds:.1f}s"
            )
    print()
    print("correctness (disbursed in the store vs acknowledged):")
    for r in run.reconciliations:
        print(
            f"  {r.phase:<26} acknowledged {r.acknowledged:>7,}  recorded {r.recorded:>7,}  "
            f"in flight at stop {r.in_flight_at_stop:>3}  -> {r.verdict}"
        )
    acknowledged = sum(r.acknowledged for r in run.reconciliations)
    recorded = sum(r.recorded for r in run.reconciliations)
    print(
        f"  {'total':<26} acknowledged {acknowledged:>7,}  recorded {recorded:>7,}  "
        f"store sum {run.final_total:,} tiyn = {run.final_total // AMOUNT:,} x {AMOUNT}"
    )
    return found


def main() -> int:
    args = parse_args()
    core.preflight(args.database_url)
    now, stamp, tag = core.run_stamp()
    schemas = [f"bench_{tag}", f"bench_{tag}_lib", f"bench_{tag}_raw"]
    base = args.database_url
    run = Run(args, tag, Path(tempfile.mkdtemp(prefix="write-bench-")))
    started = time.monotonic()
    load_at_start = os.getloadavg()[0]
    log(f"PostgreSQL {db.server_version(base)}; schemas {', '.join(schemas)}")
    log(f"load average {load_at_start:.2f} on {os.cpu_count()} CPUs before the run")
    measure(run, base, schemas)

    recorded_total = sum(r.recorded for r in run.reconciliations)
    if run.final_total != recorded_total * AMOUNT:
        run.alarms.raise_(
            f"store total {run.final_total} != sum of phase deltas {recorded_total * AMOUNT}"
        )
    found = print_report(run, stamp, load_at_start)
    core.write_results(
        "write",
        stamp,
        {
            "timestamp": now.isoformat(),
            "host": core.host(load_at_start, db.server_version(base)),
            "config": {k: v for k, v in vars(args).items() if k != "database_url"},
            "amount_per_disbursement": AMOUNT,
            "figures": {k: asdict(f) for k, f in run.figures.items()},
            "ratios": found,
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
