"""Exactly one active projection runner per read store.

Several API processes (uvicorn workers, pods) may each start a runner; only the
holder of the lock applies events, the rest stand by and take over when it dies.
PostgreSQL: a session advisory lock, released by the server when the holder's
connection drops (a killed process included). SQLite: an flock on a file beside
the database, released by the kernel when the holder exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text

from projections.store import ReadStore


def _lock_key(name: str) -> int:
    # A stable signed 64-bit key per schema, so tests in separate schemas don't collide.
    digest = hashlib.sha256(f"ledger-projections:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Leadership:
    def __init__(self, store: ReadStore) -> None:
        self.store = store
        self._conn: Any = None
        self._file: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._file is not None

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if self.store.engine.dialect.name == "postgresql":
            conn = self.store.engine.connect()
            key = _lock_key(self.store.urls.schema or "public")
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
            if got:
                self._conn = conn
                return True
            conn.close()
            return False
        database = self.store.engine.url.database or "read-models"
        handle = Path(f"{database}.runner.lock").open("ab")  # noqa: SIM115 (held open on purpose)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle
        return True

    def still_held(self) -> bool:
        """False if the PostgreSQL session holding the lock was lost (then re-acquire)."""
        if self._conn is None:
            return self._file is not None
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
        except Exception:
            self.release()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            # Invalidate, not just close: a pooled connection would keep its session,
            # and with it the lock. If the session is already gone, the lock went too.
            with contextlib.suppress(Exception):
                self._conn.invalidate()
                self._conn.close()
            self._conn = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
