"""Start-up housekeeping of read-model generations, and the locks that make it safe.

A ``projections rebuild`` or ``verify`` killed midway leaves its scratch generation's
tables behind. The next start drops every generation but the active one, unless a
rebuild or verify is running right now: those hold the *replay* lock shared for their
whole run, and the clean-up only proceeds when it can take it exclusively.
Creating the read tables is serialised with ``ledger db upgrade`` by the *schema* lock,
so two servers starting at once on an empty database do not race on CREATE TABLE.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from projections.tables import tables_for


def lock_key(purpose: str, schema: str | None) -> int:
    """A stable signed 64-bit advisory-lock key per purpose and schema."""
    digest = hashlib.sha256(f"{purpose}:{schema or 'public'}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def schema_lock_key(schema: str | None) -> int:
    """The key ``ledger db upgrade`` holds while it creates tables."""
    return lock_key("ledger-db-upgrade", schema)


def _lock_file(engine: Engine, name: str) -> Path:
    return Path(f"{engine.url.database or 'read-models'}.{name}.lock")


@contextlib.contextmanager
def replaying(engine: Engine, schema: str | None) -> Iterator[None]:
    """Held (shared) by a rebuild or verify while its scratch generation exists."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            key = lock_key("ledger-replay", schema)
            conn.execute(text("SELECT pg_advisory_lock_shared(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock_shared(:k)"), {"k": key})
                conn.commit()
        return
    with _lock_file(engine, "replay").open("ab") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        yield


def drop_orphans(conn: Connection, active: int, schema: str | None) -> list[int]:
    """Drop every generation's tables but the active one's, if no replay is running."""
    if conn.dialect.name == "postgresql":
        key = lock_key("ledger-replay", schema)
        if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar():
            return []
        return _drop(conn, active)
    with _lock_file(conn.engine, "replay").open("ab") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return []
        return _drop(conn, active)


def _drop(conn: Connection, active: int) -> list[int]:
    names = inspect(conn).get_table_names()
    found = {int(n[2:].split("_", 1)[0]) for n in names if n.startswith("rm") and n[2:3].isdigit()}
    orphans = sorted(found - {active})
    for generation in orphans:
        for table in reversed(tables_for(generation).all()):
            table.drop(conn, checkfirst=True)
    return orphans
