"""The event log as the read side sees it: the stored notifications, decoded, and appends.

Implements the read side's ``EventLog`` port (by shape; this side never imports the
read side) over the eventsourcing library's recorder and mapper.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

log = logging.getLogger("ledger.event_log")


class StoredEventLog:
    def __init__(self, application: Application[Any]) -> None:
        self._recorder = application.recorder
        self._mapper = application.mapper

    def select(self, start: int, limit: int, stop: int | None = None) -> Sequence[Notification]:
        return self._recorder.select_notifications(start=start, limit=limit, stop=stop)

    def decode(self, notification: Notification) -> Any:
        return self._mapper.to_domain_event(notification)

    def head(self) -> int:
        return self._recorder.max_notification_id() or 0

    def listen(self, wake: Callable[[], None], stopped: threading.Event) -> bool:
        """Wake on the NOTIFY the library's PostgreSQL recorder sends with every insert.

        Commits by other processes (API pods) reach a separate projection process at
        once instead of at its next poll.
        """
        recorder = self._recorder
        if not isinstance(recorder, PostgresApplicationRecorder):
            return False
        while not stopped.is_set():
            try:
                with recorder.datastore.get_connection() as conn:
                    conn.execute(SQL("LISTEN {0}").format(Identifier(recorder.channel_name)))
                    conn.commit()
                    while not stopped.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            wake()
            except Exception:
                log.exception("LISTEN connection lost; polling until it is back")
                stopped.wait(1.0)
        return True
