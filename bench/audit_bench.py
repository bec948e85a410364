"""Audit read model cost: chain catch-up and full verification, next to baselines.

One run, one store: loads the demo dataset (about 8,600 events) into a fresh
PostgreSQL schema (or SQLite file with --sqlite), then times, in the same run:

* raw read: ``select_notifications`` paging over the whole log (the floor);
* raw read + decode: the same plus ``mapper.to_domain_event`` per event;
* projection catch-up: the balance read models from position 0;
* chain catch-up: ``AuditChainer`` (decode, public form, refs, hash link, insert);
* verify: ``verify_chain`` recomputing every link and comparing with the stored chain;
* replay: ``replay_balances`` folding every leg.

Prints events/s per phase and the ratio to the raw read. Absolute numbers on a shared
2-core machine are noise; the ratios are the result.

    .venv/bin/python bench/audit_bench.py [--sqlite] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

if not __package__:  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness.db import bench_settings, create_schemas, drop_schemas, schema_url
from projections.audit.chainer import AuditChainer
from projections.audit.tables import audit_metadata
from projections.audit.verify import verify_chain
from projections.replay import replay_balances
from projections.runner import ProjectionRunner
from projections.store import create_generation, drop_generation
from server.bootstrap import build_ledger, build_read_store
from server.demo import load_demo

PG = os.environ.get("LEDGER_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def store_url(sqlite: bool) -> Iterator[str]:
    if sqlite:
        with tempfile.TemporaryDirectory() as d:
            yield f"sqlite:///{d}/bench.sqlite3"
        return
    schema = f"bench_audit_{uuid.uuid4().hex[:8]}"
    create_schemas(PG, [schema])
    try:
        yield schema_url(PG, schema)
    finally:
        drop_schemas(PG, [schema])


def timed(fn: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--repeat", type=int, default=3, help="runs per phase (median)")
    args = parser.parse_args()
    with store_url(args.sqlite) as url:
        # The demo history was approved outside the system: a threshold above every
        # amount posts it at once, on the ledger as served (server.bootstrap).
        settings = bench_settings(url, pool_size=4)
        ledger = build_ledger(settings)
        load_demo(ledger)
        events = ledger.log_head()
        store = build_read_store(settings)

        def raw() -> None:
            start = 1
            while notes := ledger.recorder.select_notifications(start=start, limit=500):
                start = notes[-1].id + 1

        def decode() -> None:
            start = 1
            while notes := ledger.recorder.select_notifications(start=start, limit=500):
                for n in notes:
                    ledger.mapper.to_domain_event(n)
                start = notes[-1].id + 1

        def projection() -> None:
            with store.engine.begin() as conn:
                create_generation(conn, 99)
            runner = ProjectionRunner(ledger.event_log, store)
            runner.catch_up(generation=99)
            with store.engine.begin() as conn:
                drop_generation(conn, 99)

        def chain() -> None:
            with store.engine.begin() as conn:
                audit_metadata.drop_all(conn)
                audit_metadata.create_all(conn)
            AuditChainer(ledger.event_log, store).catch_up()

        def verify() -> None:
            assert verify_chain(ledger.event_log, store.engine).ok

        phases = [
            ("raw read", raw),
            ("raw read + decode", decode),
            ("projection catch-up", projection),
            ("chain catch-up", chain),
            ("verify (recompute + compare)", verify),
            ("replay (fold legs)", lambda: replay_balances(ledger.event_log)),
        ]
        results = [(name, timed(fn, args.repeat)) for name, fn in phases]
        base = results[0][1]
        print(f"store: {'sqlite' if args.sqlite else 'postgresql'}; events: {events}")
        print(f"{'phase':32} {'seconds':>8} {'events/s':>10} {'x raw read':>10}")
        for name, seconds in results:
            print(f"{name:32} {seconds:8.3f} {events / seconds:10,.0f} {seconds / base:10.1f}")
        store.close()
        ledger.close()


if __name__ == "__main__":
    main()
