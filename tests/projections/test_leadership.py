"""Only one runner applies events per read store; a standby takes over."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from projections.leader import Leadership
from projections.runner import ProjectionRunner
from projections.store import ReadStore
from tests.conftest import make_app
from tests.projections.test_replay import World, legs_balances, read_balances, sqlite_store


def _two_runners_one_leader(store_a: ReadStore, store_b: ReadStore, url: str) -> None:
    app = make_app(url)
    try:
        a, b = ProjectionRunner(app, store_a), ProjectionRunner(app, store_b)
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
    store_a, store_b = ReadStore.for_database(pg_schema_url), ReadStore.for_database(pg_schema_url)
    store_a.ensure_schema()
    try:
        _two_runners_one_leader(store_a, store_b, pg_schema_url)
    finally:
        store_a.close()
        store_b.close()
