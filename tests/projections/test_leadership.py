"""Only one runner applies events per read store; a standby takes over."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from projections.leader import Leadership
from projections.runner import ProjectionRunner
from projections.store import ReadStore, active_generation, tracked_position
from projections.tables import tables_for
from tests.conftest import make_app, make_store
from tests.projections.test_replay import World, legs_balances, read_balances, sqlite_store


def _position(store: ReadStore) -> int:
    with store.engine.connect() as conn:
        return tracked_position(conn, tables_for(active_generation(conn)))


def _two_runners_one_leader(store_a: ReadStore, store_b: ReadStore, url: str) -> None:
    app = make_app(url)
    try:
        a, b = ProjectionRunner(app.event_log, store_a), ProjectionRunner(app.event_log, store_b)
        a.start()
        deadline = time.monotonic() + 5
        while a.role != "active" and time.monotonic() < deadline:
            time.sleep(0.02)
        b.start()
        World(app)  # some events to follow
        time.sleep(0.5)
        assert (a.role, b.role) == ("active", "standby")
        a.stop()  # the leader goes away; the standby must take over and catch up
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            b.role != "active" or read_balances(store_b) != legs_balances(app)
        ):
            time.sleep(0.05)
        assert b.role == "active"
        assert read_balances(store_b) == legs_balances(app)
        b.stop()
    finally:
        app.close()


def test_sqlite_runners_elect_one_leader(tmp_path: Path) -> None:
    store_a, store_b = sqlite_store(tmp_path), sqlite_store(tmp_path)
    lock_a, lock_b = Leadership(store_a), Leadership(store_b)
    assert lock_a.try_acquire()
    assert not lock_b.try_acquire()
    lock_a.release()
    assert lock_b.try_acquire()
    lock_b.release()
    _two_runners_one_leader(store_a, store_b, "memory://")


@pytest.mark.postgres
def test_postgres_runners_elect_one_leader(pg_schema_url: str) -> None:
    store_a = make_store(pg_schema_url)
    store_b = make_store(pg_schema_url, ensure_schema=False)
    try:
        _two_runners_one_leader(store_a, store_b, pg_schema_url)
    finally:
        store_a.close()
        store_b.close()


@pytest.mark.postgres
def test_postgres_runner_wakes_on_notify_from_another_process(pg_schema_url: str) -> None:
    store = make_store(pg_schema_url)
    follower_app, writer_app = make_app(pg_schema_url), make_app(pg_schema_url)
    # A poll this slow means only LISTEN/NOTIFY can make it follow in time.
    runner = ProjectionRunner(follower_app.event_log, store, poll_seconds=60)
    try:
        runner.start()
        time.sleep(0.5)
        world = World(writer_app)
        world.do("commit", 0, 5_000, 1)
        world.do("disburse", 0, 1_000, 2)
        head = writer_app.log_head()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _position(store) < head:
            time.sleep(0.02)
        assert runner.role == "active"
        assert _position(store) == head
        assert read_balances(store) == legs_balances(writer_app) != {}
    finally:
        runner.stop()
        follower_app.close()
        writer_app.close()
        store.close()
