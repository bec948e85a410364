"""Where a stored event sits in the application log (its notification id).

The library's recorders return notification ids on insert but offer no lookup by
(originator, version). An idempotent replay needs one, to answer with the original
position; these are parameterised single-row index lookups per store.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier


def position_of(recorder: ApplicationRecorder, originator_id: UUID, version: int) -> int | None:
    if isinstance(recorder, PostgresApplicationRecorder):
        statement = SQL(
            "SELECT notification_id FROM {}.{} WHERE originator_id = %s AND originator_version = %s"
        ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute(statement, (originator_id, version))
            row: Any = curs.fetchone()
            return int(row["notification_id"]) if row else None
    if isinstance(recorder, SQLiteApplicationRecorder):
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid FROM {recorder.events_table_name} "  # noqa: S608 (library's own table name)
                "WHERE originator_id = ? AND originator_version = ?",
                (originator_id.hex, version),
            )
            row = c.fetchone()
            return int(row[0]) if row else None
    if isinstance(recorder, POPOApplicationRecorder):
        index = recorder._stored_events_index.get(str(originator_id), {})
        return index[version] + 1 if version in index else None
    msg = f"no position lookup for {type(recorder).__name__}"
    raise NotImplementedError(msg)
