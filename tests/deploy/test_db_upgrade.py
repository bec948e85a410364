"""`ledger db upgrade` creates the storage as its own step; `ledger db check` sees it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from ledger.infrastructure.settings import Settings
from server.bootstrap import build_ledger
from server.cli.db import missing, upgrade
from tests.conftest import PG_URL, require_postgres


def _ledger(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )


@pytest.fixture
def new_schema_url() -> Iterator[str]:
    """A schema that does not exist yet: the upgrade must create it."""
    require_postgres()
    schema = f"up_{uuid.uuid4().hex[:12]}"
    base = PG_URL.split("?")[0]
    yield f"{base}?schema={schema}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _tables(url: str) -> set[str]:
    base, schema = url.split("?schema=")
    with psycopg.connect(base) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    return {r[0] for r in rows}


@pytest.mark.postgres
def test_upgrade_creates_schema_and_is_safe_to_run_twice(new_schema_url: str) -> None:
    check = _ledger("db", "check", "--database-url", new_schema_url)
    assert check.returncode == 1
    assert "not ready" in check.stderr

    first = _ledger("db", "upgrade", "--database-url", new_schema_url)
    assert first.returncode == 0, first.stderr
    tables = _tables(new_schema_url)
    assert {"ledger_events", "ledger_snapshots", "rm_active", "rm1_tracking"} <= tables

    second = _ledger("db", "upgrade", "--database-url", new_schema_url)
    assert second.returncode == 0, second.stderr
    assert _tables(new_schema_url) == tables

    check = _ledger("db", "check", "--database-url", new_schema_url)
    assert check.returncode == 0, check.stderr
    assert "db: ready" in check.stdout


@pytest.mark.postgres
def test_concurrent_upgrades_serialise(new_schema_url: str) -> None:
    settings = Settings(database_url=new_schema_url)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: upgrade(settings), range(4)))
    assert all("event store tables: present" in r for r in results)
    assert missing(settings) == []


def test_upgrade_on_sqlite(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    # Serving processes are configured not to create tables; the upgrade still does.
    monkeypatch.setenv("LEDGER_CREATE_TABLE", "n")
    settings = Settings(database_url=f"sqlite:///{tmp_path}/ledger.sqlite3")
    serving = build_ledger(settings)
    try:
        with pytest.raises(Exception, match="no such table"):
            serving.log_head()  # the library honoured LEDGER_CREATE_TABLE=n
    finally:
        serving.close()
    assert missing(settings) != []
    upgrade(settings)
    upgrade(settings)
    assert missing(settings) == []
