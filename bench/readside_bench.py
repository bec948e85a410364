"""Does the read side keep up? Rebuild, chain and replay against the raw read of one log.

One run, one PostgreSQL schema: the demo dataset loaded ``--copies`` times (each copy
under its own school, donor and programme codes and idempotency keys, so about 8,600
events per copy: 5 copies make a 43k-event log), then, in the same run:

* raw read: ``select_notifications`` paging over the whole log (the floor);
* raw read + decode: the same plus the mapper's ``to_domain_event`` per event;
* rebuild: the projection runner filling a fresh read-model generation from position 0,
  then indexing it (what ``ledger projections rebuild`` does before its flip);
* chain: the audit chainer from an empty chain;
* replay: ``replay_balances`` in process, and the ``ledger replay --json`` command;
* ledger-cli: ``ledger -f exported.journal bal`` on ``ledger export journal`` of the same log;
* lag (``--lag-seconds``, 0 to skip): commit-to-projection lag while threads record
  disbursements in process on a schema of its own (projection_lag_inproc.py).

Goals (ratios, never absolute numbers: the machine is shared): rebuild events/s at least
0.3x the raw read's; ``ledger replay --json`` no slower than ledger-cli on the exported
journal; lag p99 under 1 s. Exits 1 when a goal is missed (an alarm, not a test).
Beside the wall time, each phase's CPU (this process and its children, plus the
PostgreSQL backends serving it; see projection_cpu.py) and its ratio to the raw read's:
steadier when other work shares the machine. ``ledger replay``'s own database backend
is not counted (another process's).

    .venv/bin/python bench/readside_bench.py [--copies 5] [--repeat 3]
    .venv/bin/python bench/readside_bench.py --keep            # leave the loaded schema
    .venv/bin/python bench/readside_bench.py --schema NAME     # reuse it (no loading)
    # the same against a baseline tree (git archive of it in /tmp/base; bench from here):
    PYTHONPATH=/tmp/base/services .venv/bin/python bench/readside_bench.py --schema NAME
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context, Recorded
from ledger.infrastructure.settings import Settings

if not __package__:  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.projection_cpu import CpuMeter
from bench.projection_lag_inproc import LagResult, measure_lag
from projections.audit.chainer import AuditChainer
from projections.audit.tables import audit_metadata
from projections.replay import replay_balances
from projections.runner import ProjectionRunner
from projections.store import create_generation, drop_generation
from server.bootstrap import build_ledger, build_read_store
from server.demo import DemoCommand, demo_commands

PG = os.environ.get("LEDGER_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
LEDGER = str(Path(sys.executable).with_name("ledger"))
REBUILD_GOAL = 0.3
REPLAY_GOAL = 1.0
LAG_P99_GOAL_SECONDS = 1.0
SCRATCH_GENERATION = 9999
# Arguments naming a registered code, renamed per copy; refs name earlier commands' keys.
CODE_ARGS = ("code", "school", "donor", "programme", "hub")
KEY_ARGS = ("grant_ref", "entry_ref")


def copy_of(commands: list[DemoCommand], n: int) -> list[DemoCommand]:
    """The dataset again under new codes and keys (copy 0 is the demo itself)."""
    if n == 0:
        return commands
    out = []
    for c in commands:
        kw: dict[str, Any] = dict(c.kwargs)
        for name in CODE_ARGS:
            if kw.get(name) is not None:
                kw[name] = f"{kw[name]}-c{n}"
        for name in KEY_ARGS:
            if name in kw:
                kw[name] = f"c{n}-{kw[name]}"
        out.append(replace(c, kwargs=kw, key=f"c{n}-{c.key}", lane=f"c{n}-{c.lane}"))
    return out


def load(app: LedgerApplication, copies: int) -> None:
    """Record every copy, phase by phase, lanes on a thread pool (as ``load_demo`` does)."""
    commands = [c for n in range(copies) for c in copy_of(demo_commands(), n)]
    done: dict[str, Recorded] = {}

    def run(lane: list[DemoCommand]) -> None:
        for c in lane:
            kw = dict(c.kwargs)
            if "grant_ref" in kw:
                kw["grant_id"] = UUID(done[kw.pop("grant_ref")].response["grant_id"])
            if "entry_ref" in kw:
                kw["entry_id"] = UUID(done[kw.pop("entry_ref")].response["entry_id"])
            done[c.key] = getattr(app, c.method)(Context("bench-loader", c.key), **kw)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for phase in sorted({c.phase for c in commands}):
            lanes: dict[str, list[DemoCommand]] = {}
            for c in commands:
                if c.phase == phase:
                    lanes.setdefault(c.lane, []).append(c)
            for future in [pool.submit(run, lane) for lane in lanes.values()]:
                future.result()


@contextlib.contextmanager
def schema(name: str | None, keep: bool) -> Iterator[tuple[str, bool]]:
    """(database URL, whether it is fresh); a fresh schema is dropped unless ``keep``."""
    if name is not None:
        yield f"{PG}?schema={name}", False
        return
    name = f"bench_readside_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield f"{PG}?schema={name}", True
    finally:
        if keep:
            print(f"kept schema {name} (reuse with --schema {name})")
        else:
            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def timed(fn: Callable[[], object]) -> tuple[float, float, float]:
    """(wall seconds, client CPU seconds, database CPU seconds) of one run."""
    with CpuMeter(PG) as cpu:
        started = time.perf_counter()
        fn()
        wall = time.perf_counter() - started
    return wall, cpu.client, cpu.server


def fill_scratch(runner: ProjectionRunner) -> None:
    """What a rebuild does before its flip, into the scratch generation."""
    try:
        from projections.rebuild import fill_generation
    except ImportError:  # an older tree (PYTHONPATH at a baseline checkout): indexed load
        with runner.store.engine.begin() as conn:
            drop_generation(conn, SCRATCH_GENERATION)
            create_generation(conn, SCRATCH_GENERATION)
        runner.catch_up(generation=SCRATCH_GENERATION)
        return
    with runner.store.engine.begin() as conn:
        drop_generation(conn, SCRATCH_GENERATION)
        create_generation(conn, SCRATCH_GENERATION, indexes=False)
    fill_generation(runner, SCRATCH_GENERATION)


def ledger_cli() -> str | None:
    """ledger-cli on the PATH, not this project's own ``ledger`` command."""
    ours = Path(LEDGER).resolve()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(folder) / "ledger"
        if candidate.is_file() and os.access(candidate, os.X_OK) and candidate.resolve() != ours:
            return str(candidate)
    return None


def run_cli(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL, timeout=600)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=5, help="demo datasets in the log")
    parser.add_argument("--repeat", type=int, default=3, help="runs per phase (median)")
    parser.add_argument("--batch", type=int, default=500, help="raw read page size")
    parser.add_argument("--schema", help="reuse an already loaded schema")
    parser.add_argument("--keep", action="store_true", help="keep the schema for --schema")
    parser.add_argument("--only", help="comma-separated phases to run (profiling)")
    parser.add_argument("--lag-seconds", type=float, default=10.0, help="0: no lag phase")
    parser.add_argument("--lag-threads", type=int, default=16, help="recording threads")
    parser.add_argument("--lag-rate", type=float, default=0.0, help="commands/s (0: unpaced)")
    parser.add_argument("--lag-grants", type=int, default=64, help="grants at as many schools")
    args = parser.parse_args()
    cli_path = ledger_cli()
    with schema(args.schema, args.keep) as (url, fresh):
        settings = Settings(database_url=url, pool_size=4)
        app = build_ledger(settings, approvals=False)
        if fresh:
            started = time.perf_counter()
            load(app, args.copies)
            print(f"loaded {args.copies} copies in {time.perf_counter() - started:.0f} s")
        events = app.event_log.head()
        store = build_read_store(settings)
        log = app.event_log
        env = {**os.environ, "LEDGER_DATABASE_URL": url}
        workdir = Path(tempfile.mkdtemp(prefix="readside-"))
        journal = workdir / "exported.journal"

        def raw() -> None:
            start = 1
            while notes := log.select(start, args.batch):
                start = notes[-1].id + 1

        def decode() -> None:
            start = 1
            while notes := log.select(start, args.batch):
                for n in notes:
                    log.decode(n)
                start = notes[-1].id + 1

        def rebuild() -> None:
            runner = ProjectionRunner(log, store)
            fill_scratch(runner)
            runner.forget(SCRATCH_GENERATION)

        def chain() -> None:
            with store.engine.begin() as conn:
                audit_metadata.drop_all(conn)
                audit_metadata.create_all(conn)
            AuditChainer(log, store).catch_up()

        phases: list[tuple[str, Callable[[], object]]] = [
            ("raw read", raw),
            ("raw read + decode", decode),
            ("rebuild (catch-up, new generation)", rebuild),
            ("chain (audit chainer)", chain),
            ("replay (in process)", lambda: replay_balances(log)),
            ("ledger replay --json", lambda: run_cli([LEDGER, "replay", "--json"], env)),
        ]
        wanted = set(args.only.split(",")) if args.only else None
        cli_wanted = wanted is None or any(w.startswith("ledger-cli") for w in wanted)
        if cli_path is not None and cli_wanted:
            run_cli([LEDGER, "export", "journal", "-o", str(journal)], env)
            phases.append(
                (
                    "ledger-cli bal (exported journal)",
                    lambda: run_cli([cli_path, "-f", str(journal), "bal"], env),
                )
            )
        if wanted is not None:
            phases = [p for p in phases if any(p[0].startswith(w) for w in wanted)]
        # Rounds interleave the phases, so a burst of load from elsewhere on a shared
        # machine hits every phase of a round, not one phase's every run.
        runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in phases}
        for _ in range(args.repeat):
            for name, fn in phases:
                runs[name].append(timed(fn))
        results = {name: statistics.median(r[0] for r in rs) for name, rs in runs.items()}
        cpus = {name: statistics.median(r[1] + r[2] for r in rs) for name, rs in runs.items()}
        db_cpus = {name: statistics.median(r[2] for r in rs) for name, rs in runs.items()}
        with store.engine.begin() as conn:
            drop_generation(conn, SCRATCH_GENERATION)
        store.close()
        app.close()
        shutil.rmtree(workdir, ignore_errors=True)
    lag: LagResult | None = None
    if args.lag_seconds > 0 and (not args.only or "lag" in args.only.split(",")):
        lag = measure_lag(
            PG, grants=args.lag_grants, threads=args.lag_threads, seconds=args.lag_seconds,
            rate=args.lag_rate or None,
        )  # fmt: skip
    base = results.get("raw read")
    base_cpu = cpus.get("raw read")
    print(f"events: {events}; median of {args.repeat} runs per phase")
    print(
        f"{'phase':36} {'seconds':>8} {'events/s':>9} {'rate/raw':>8} "
        f"{'CPU s':>6} {'of it db':>8} {'CPU raw/phase':>13}"
    )
    for name, seconds in results.items():
        rel = f"{base / seconds:8.2f}" if base else f"{'':>8}"
        cpu_rel = f"{base_cpu / cpus[name]:13.2f}" if base_cpu else f"{'':>13}"
        print(
            f"{name:36} {seconds:8.3f} {events / seconds:9,.0f} {rel} "
            f"{cpus[name]:6.2f} {db_cpus[name]:8.2f} {cpu_rel}"
        )
    failed = []
    rebuild_s = results.get("rebuild (catch-up, new generation)")
    if base and rebuild_s:
        ratio = base / rebuild_s
        cpu_ratio = cpus["raw read"] / cpus["rebuild (catch-up, new generation)"]
        print(f"goal rebuild / raw read >= {REBUILD_GOAL}: {ratio:.2f} (by CPU: {cpu_ratio:.2f})")
        if ratio < REBUILD_GOAL:
            failed.append("rebuild")
    cli = results.get("ledger-cli bal (exported journal)")
    ours = results.get("ledger replay --json")
    if cli and ours:
        ratio = cli / ours
        print(f"goal ledger-cli seconds / ledger replay seconds >= {REPLAY_GOAL}: {ratio:.2f}")
        if ratio < REPLAY_GOAL:
            failed.append("replay")
    elif ours and cli_path is None:
        print("ALARM: ledger-cli not installed (apt-get install ledger): replay goal unmeasured")
        failed.append("ledger-cli missing")
    if lag is not None:
        print(
            f"lag while recording: {lag.commands} commands at {lag.rate:,.0f}/s "
            f"({args.lag_threads} threads): p50 {lag.p50 * 1000:.0f} ms, "
            f"p99 {lag.p99 * 1000:.0f} ms, max {lag.max * 1000:.0f} ms"
            + (f", {lag.unapplied} never applied" if lag.unapplied else "")
        )
        print(f"goal lag p99 < {LAG_P99_GOAL_SECONDS:g} s: {lag.p99:.3f} s")
        if lag.p99 >= LAG_P99_GOAL_SECONDS or lag.unapplied:
            failed.append("lag")
    if failed:
        print("ALARM: goals missed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
