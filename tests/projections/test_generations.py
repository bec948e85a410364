"""Start-up housekeeping: leftovers of a killed rebuild, servers starting together."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from projections.generations import replaying
from projections.store import ReadStore, create_generation


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.sqlite3"
    else:
        yield request.getfixturevalue("pg_schema_url")


def _generations(store: ReadStore) -> set[int]:
    with store.engine.connect() as conn:
        names = inspect(conn).get_table_names()
    return {int(n[2:].split("_", 1)[0]) for n in names if n.startswith("rm") and n[2:3].isdigit()}


def test_a_killed_rebuild_leaves_nothing_after_the_next_start(store_url: str) -> None:
    store = ReadStore.for_database(store_url)
    try:
        store.ensure_schema()
        with store.engine.begin() as conn:
            create_generation(conn, 7)  # what a rebuild killed before its flip leaves
        assert _generations(store) == {1, 7}
        with replaying(store.engine, store.urls.schema):
            store.ensure_schema()  # a rebuild is running: its tables are not orphans
            assert _generations(store) == {1, 7}
        store.ensure_schema()
        assert _generations(store) == {1}
    finally:
        store.close()


def test_servers_starting_together_on_an_empty_database(store_url: str) -> None:
    stores = [ReadStore.for_database(store_url) for _ in range(3)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores))

    def boot(store: ReadStore) -> None:
        start.wait()
        try:
            store.ensure_schema()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=boot, args=(s,)) for s in stores]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert _generations(stores[0]) == {1}
    finally:
        for s in stores:
            s.close()
