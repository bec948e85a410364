"""Fresh schemas per run (dropped at the end, also on an error) and the settings the
benchmarks build the ledger with."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql

from bench.harness.core import Alarms, log
from ledger.infrastructure.settings import Settings

# Far above any benchmark's disbursement: the ledger is built with the served approval
# policy (server.bootstrap.build_ledger), and a threshold this high makes every
# disbursement post at once, as the benchmarks measure the posting path, not approvals.
NO_APPROVAL_LIMIT = {"KZT": 10**18}


def schema_url(base: str, schema: str) -> str:
    return f"{base}?schema={schema}"


def bench_settings(url: str, **overrides: Any) -> Settings:
    """Settings as served, on ``url``, with disbursements that post at once."""
    values: dict[str, Any] = {"database_url": url, "approval_thresholds": NO_APPROVAL_LIMIT}
    return Settings(**(values | overrides))


def create_schemas(base: str, schemas: list[str]) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


def drop_schemas(base: str, schemas: list[str]) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        # A leftover connection holding a lock must fail the drop, not hang the run.
        conn.execute("SET lock_timeout = '15s'")
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextlib.contextmanager
def fresh_schemas(base: str, schemas: list[str], alarms: Alarms) -> Iterator[None]:
    """Create the schemas, and drop them when the block ends however it ends."""
    create_schemas(base, schemas)
    try:
        yield
    finally:
        try:
            drop_schemas(base, schemas)
            log(f"dropped schemas {', '.join(schemas)}")
        except Exception as e:  # the run's figures are still worth printing
            alarms.raise_(f"could not drop schemas {schemas}: {e}")


def server_version(base: str) -> str:
    with psycopg.connect(base, autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        sync = conn.execute("SHOW synchronous_commit").fetchone()
    return f"{row[0] if row else '?'} (synchronous_commit={sync[0] if sync else '?'})"
