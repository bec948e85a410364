"""kill -9 the projection process mid-stream; after restart the read side equals a replay."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from ledger.application.app import LedgerApplication
from projections.rebuild import verify
from projections.runner import ProjectionRunner
from projections.store import ReadStore, active_generation
from projections.tables import tables_for
from tests.conftest import make_app, make_store
from tests.projections.test_replay import World, legs_balances, read_balances

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_schema_url: str) -> Iterator[tuple[str, LedgerApplication, ReadStore]]:
    app = make_app(pg_schema_url)
    store = make_store(pg_schema_url)
    yield pg_schema_url, app, store
    store.close()
    app.close()


def _stream(world: World, stop: threading.Event, done: list[int]) -> None:
    ops = ["commit", "disburse", "spend", "disburse", "operate", "in-kind", "reverse", "reduce"]
    i = 0
    while not stop.is_set():
        world.do(ops[i % len(ops)], i, 1_000 + i, i % 365)
        i += 1
    done.append(i)


def _projection_process(url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "projections", "run", "--database-url", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _position(store: ReadStore) -> int:
    with store.engine.connect() as conn:
        t = tables_for(active_generation(conn))
        return int(conn.execute(select(t.tracking.c.position)).scalar_one())


def test_kill_9_projection_process_repeatedly(pg: tuple[str, LedgerApplication, ReadStore]) -> None:
    url, app, store = pg
    world = World(app)
    stop, done = threading.Event(), []
    writer = threading.Thread(target=_stream, args=(world, stop, done))
    writer.start()
    rng = random.Random(7)
    positions = []
    try:
        for _ in range(4):
            proc = _projection_process(url)
            assert proc.stdout is not None
            # Kill only once it is following, at a random moment mid-stream.
            line = proc.stdout.readline()
            assert b"following" in line, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(rng.uniform(0.3, 1.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            assert proc.returncode == -signal.SIGKILL
            positions.append(_position(store))
    finally:
        stop.set()
        writer.join(timeout=60)
    assert done and done[0] > 50, "the writer should have streamed events meanwhile"
    assert positions[-1] > 0, "the killed processes should have made progress"
    assert positions == sorted(positions)
    # Restart once more and let it finish: exactly the replay, nothing twice, nothing skipped.
    runner = ProjectionRunner(app.event_log, store)
    runner.catch_up()
    assert _position(store) == app.log_head()
    assert read_balances(store) == legs_balances(app)
    assert verify(runner) == []


def test_concurrent_writers_miss_no_event(pg: tuple[str, LedgerApplication, ReadStore]) -> None:
    url, app, store = pg
    other = make_app(url)  # a second "API process" writing to the same store
    try:
        worlds = [World(app)]
        runner = ProjectionRunner(app.event_log, store, batch_size=7)
        stop = threading.Event()

        def follow() -> None:
            while not stop.is_set():
                if runner.run_once() == 0:
                    time.sleep(0.005)

        def write(w: World, seed: int) -> None:
            for i in range(40):
                w.do(["commit", "disburse", "spend", "in-kind"][(i + seed) % 4], i + seed, 500, i)

        # Each writer thread has its own World of keys, sharing the grants of the first.
        writers = []
        for n in range(8):
            w = World.__new__(World)
            w.app, w.n, w.grants, w.entries = (app if n % 2 else other), 10_000 * (n + 1), [], []
            worlds.append(w)
            writers.append(threading.Thread(target=write, args=(w, n)))
        follower = threading.Thread(target=follow)
        follower.start()
        for t in writers:
            t.start()
        for t in writers:
            t.join(timeout=120)
        stop.set()
        follower.join(timeout=30)
        runner.catch_up()
        with store.engine.connect() as conn:
            t = tables_for(active_generation(conn))
            entries = conn.execute(select(func.count()).select_from(t.entries)).scalar_one()
        recorded = sum(len(w.entries) for w in worlds)  # every acknowledged entry
        assert entries == recorded
        assert read_balances(store) == legs_balances(app)
        assert verify(runner) == []
    finally:
        other.close()
