"""Event recorders whose insert can also check that some aggregates did not change.

A command that only *reads* an aggregate (an entry reads the fiscal calendar) writes
no version of it, so the store's version uniqueness cannot see another process
changing it between decision and commit. ``store.put(events, unchanged={id: version})``
makes the insert fail with ``IntegrityError`` if any listed aggregate is stored past
that version. The check runs inside the insert's transaction: on PostgreSQL under the
table lock every insert takes, on SQLite after the insert, under its single-writer
lock; so it is ordered with every other insert, and a close committed first always fails the
entry's commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

Unchanged = Mapping[UUID, int]


def _changed(aggregate_id: UUID, expected: int, stored: int | None) -> IntegrityError:
    return IntegrityError(
        f"aggregate {aggregate_id} is at version {stored or 0}, the commit read {expected}"
    )


class CheckedPostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._check_statement = SQL(
            "SELECT max(originator_version) AS v FROM {0}.{1} WHERE originator_id = %s"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        unchanged: Unchanged = kwargs.get("unchanged") or {}
        if not unchanged:
            super()._insert_stored_events(curs, stored_events, **kwargs)
            return
        # What the parent does (lock, notify, insert), with the check after the lock
        # and before inserting anything: the library commits the transaction around
        # an error raised here, so nothing may have been written yet.
        self._lock_table(curs)
        with curs.connection.cursor() as check:
            for aggregate_id, expected in unchanged.items():
                check.execute(self._check_statement, (aggregate_id,), prepare=True)
                row = check.fetchone()
                stored = row["v"] if row else None
                if (stored or 0) != expected:
                    raise _changed(aggregate_id, expected, stored)
        self._notify_channel(curs)
        PostgresAggregateRecorder._insert_stored_events(self, curs, stored_events, **kwargs)


class CheckedSQLiteRecorder(SQLiteApplicationRecorder):
    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        unchanged: Unchanged = kwargs.get("unchanged") or {}
        for aggregate_id, expected in unchanged.items():
            c.execute(
                f"SELECT max(originator_version) FROM {self.events_table_name} "  # noqa: S608 (library's own table name)
                "WHERE originator_id = ?",
                (aggregate_id.hex,),
            )
            stored = c.fetchone()[0]
            if (stored or 0) != expected:
                raise _changed(aggregate_id, expected, stored)
        return ids
