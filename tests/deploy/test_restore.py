"""Back up and restore (docs/operations.md): pg_dump the ledger, restore into a fresh
database, and the restored read models equal a replay of the restored log."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from projections.audit.chainer import head as audit_head
from projections.runner import ProjectionRunner
from tests.conftest import make_app, make_store
from tests.projections.test_replay import World

pytestmark = pytest.mark.postgres


def _ledger(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )


def _count(url: str, sql: str) -> int:
    base, schema = url.split("?schema=")
    with psycopg.connect(base) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def test_dump_restore_into_a_fresh_database_then_verify(pg_schema_url: str, tmp_path: Path) -> None:
    for tool in ("pg_dump", "pg_restore"):
        assert shutil.which(tool), f"{tool} (postgresql-client) is needed for the restore test"
    app = make_app(pg_schema_url)
    store = make_store(pg_schema_url)
    try:
        world = World(app)
        ops = ["commit", "disburse", "spend", "operate", "in-kind", "reverse", "reduce"]
        for i in range(60):
            world.do(ops[i % len(ops)], i, 1_000 + i, i % 300)
        ProjectionRunner(app.event_log, store).catch_up()  # read models and the audit chain
        with store.engine.connect() as conn:
            position, link = audit_head(conn)
        digest = f"{position}:{link.hex()}"
    finally:
        store.close()
        app.close()

    base, schema = pg_schema_url.split("?schema=")
    dump = tmp_path / "ledger.dump"
    out = subprocess.run(
        ["pg_dump", "--format=custom", f"--schema={schema}", f"--file={dump}", base],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr

    database = f"restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    restored = base.rsplit("/", 1)[0] + f"/{database}?schema={schema}"
    try:
        out = subprocess.run(
            ["pg_restore", "--exit-on-error", "--no-owner", "--dbname", restored.split("?")[0],
             str(dump)],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        events = "SELECT count(*) FROM ledger_events"
        assert _count(restored, events) == _count(pg_schema_url, events) > 60

        check = _ledger("db", "check", "--database-url", restored)
        assert check.returncode == 0, check.stderr
        verify = _ledger("projections", "verify", "--database-url", restored)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "equal a replay" in verify.stdout
        # The auditor's digest, taken before the dump, still matches the restored log.
        audit = _ledger("audit", "verify", "--database-url", restored, "--digest", digest)
        assert audit.returncode == 0, audit.stdout + audit.stderr
        assert "audit: OK" in audit.stdout

        # The check has teeth: a tampered read model in the restored copy is found.
        with psycopg.connect(restored.split("?")[0], autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            conn.execute("UPDATE rm1_entries SET amount = amount + 1 WHERE ctid IN "
                         "(SELECT ctid FROM rm1_entries LIMIT 1)")  # fmt: skip
        verify = _ledger("projections", "verify", "--database-url", restored)
        assert verify.returncode == 1, verify.stdout
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
