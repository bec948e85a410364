"""``ledger db``: create the storage as an explicit deployment step, and check for it.

In production the schema is created once, by a Kubernetes Job, before any API pod
starts: API replicas starting together would otherwise race on ``CREATE TABLE IF
NOT EXISTS``, which PostgreSQL does not make atomic across sessions. Upgrading is
idempotent and serialised by an advisory lock, so a retried or doubled Job is safe.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Annotated
from urllib.parse import parse_qs, urlsplit

import typer

from server.cli.options import DatabaseUrl, settings_for

if TYPE_CHECKING:
    from ledger.infrastructure.settings import Settings

db_app = typer.Typer(help="Storage: create or check the event store and read models.")


def _postgres(url: str) -> tuple[str, str | None] | None:
    """(connection URL without the query, schema) for a PostgreSQL URL, else None."""
    parts = urlsplit(url)
    if parts.scheme.split("+", 1)[0] not in ("postgres", "postgresql"):
        return None
    schema = parse_qs(parts.query).get("schema", [None])[0]
    return parts._replace(scheme="postgresql", query="").geturl(), schema


def _upgrade_lock_key(schema: str | None) -> int:
    # The read store's start-up takes the same lock around its CREATE TABLEs.
    from projections.generations import schema_lock_key

    return schema_lock_key(schema)


def upgrade(settings: Settings) -> list[str]:
    """Create whatever is missing; returns what was done, one line per step."""
    import psycopg
    from psycopg import sql

    done: list[str] = []
    pg = _postgres(settings.database_url)
    conn = None
    if pg is not None:
        base, schema = pg
        conn = psycopg.connect(base, autocommit=True)
        # Held for the whole upgrade: a second upgrader waits, then finds nothing to do.
        conn.execute("SELECT pg_advisory_lock(%s)", (_upgrade_lock_key(schema),))
        if schema:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            done.append(f"schema {schema}: present")
    try:
        _create_tables(settings)
        done.append("event store tables: present")
        done.append("read-model tables: present")
    finally:
        if conn is not None:
            conn.close()  # ends the session, and with it the lock
    return done


def _create_tables(settings: Settings) -> None:
    from server.bootstrap import build_ledger, build_read_store

    # Constructing the application creates the event store tables. Serving pods set
    # LEDGER_CREATE_TABLE=n (the library reads the application-prefixed name first),
    # so that only this step issues DDL: say "y" under both names here.
    ledger = build_ledger(settings, env=_create_table("y"), pool_size=1)
    try:
        ledger.log_head()
    finally:
        ledger.close()
    # This upgrade already holds the schema lock (another session would wait for it).
    store = build_read_store(settings, ensure_schema=False)
    try:
        store.ensure_schema(lock=False)
    finally:
        store.close()


def _create_table(flag: str) -> dict[str, str]:
    from ledger.application.app import LedgerApplication

    return {"CREATE_TABLE": flag, f"{LedgerApplication.name.upper()}_CREATE_TABLE": flag}


def missing(settings: Settings) -> list[str]:
    """What is not there yet (empty: ready to serve). Creates nothing."""
    from sqlalchemy import inspect

    from projections.tables import active
    from server.bootstrap import build_ledger, build_read_store

    problems: list[str] = []
    try:
        ledger = build_ledger(settings, env=_create_table("n"), pool_size=1)
        try:
            ledger.log_head()
        finally:
            ledger.close()
    except Exception as e:
        problems.append(f"event store: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    store = build_read_store(settings, ensure_schema=False)
    try:
        with store.engine.connect() as conn:
            if not inspect(conn).has_table(active.name):
                problems.append(f"read models: table {active.name} missing")
    except Exception as e:
        problems.append(f"read models: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    finally:
        store.close()
    return problems


@db_app.command("upgrade")
def upgrade_command(database_url: DatabaseUrl = None) -> None:
    """Create the event store and read-model tables if missing (idempotent; run before serving)."""
    for line in upgrade(settings_for(database_url)):
        typer.echo(f"db: {line}")
    typer.echo("db: up to date")


@db_app.command("check")
def check_command(
    database_url: DatabaseUrl = None,
    wait: Annotated[
        float, typer.Option(help="Keep checking for this many seconds before failing.")
    ] = 0.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: ready and what is missing.")
    ] = False,
) -> None:
    """Exit 0 if the storage exists, else 1 (an init container waits on the upgrade Job)."""
    settings = settings_for(database_url)
    deadline = time.monotonic() + wait
    while (problems := missing(settings)) and time.monotonic() < deadline:
        time.sleep(2.0)
    if as_json:
        typer.echo(json.dumps({"ready": not problems, "missing": problems}))
        raise typer.Exit(1 if problems else 0)
    for line in problems:
        typer.echo(f"db: {line}", err=True)
    if problems:
        typer.echo("db: not ready; run `ledger db upgrade`", err=True)
        raise typer.Exit(1)
    typer.echo("db: ready")
