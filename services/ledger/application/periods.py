"""A refreshed copy of the fiscal calendar, and a shared/exclusive lock.

Commands no longer use these: the sequencer reads the calendar as an aggregate of
its own, decides a close in order with every other command of the process, and each
entry's commit checks that the calendar it read is still the stored one (so a close
in another process makes the entry's commit fail and the entry is decided again).
Kept for what still refers to it (the ``period_refresh_seconds`` setting, the
period-guard benchmark).
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.application import project_aggregate
from eventsourcing.persistence import EventStore

from ledger.domain.errors import InvalidValue
from ledger.domain.periods import CALENDAR_ID, FiscalCalendar


class SharedExclusiveLock:
    """Many commands at once, or one close alone; a waiting close goes first."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            try:
                self._cond.wait_for(lambda: not self._writer and self._readers == 0)
            finally:
                self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class PeriodGuard:
    """The calendar as commands see it: a copy refreshed from the store, cheaply."""

    def __init__(
        self,
        events: EventStore[Any],
        refresh_seconds: float = 1.0,
        *,
        horizon_days: int = 7,
        zone: str = "Asia/Almaty",
    ) -> None:
        self.lock = SharedExclusiveLock()
        # Value dates are calendar days in the programme's zone: at 01:00 in Astana it is
        # already tomorrow there, while UTC still says today.
        self.zone = ZoneInfo(zone)
        self.horizon_days = horizon_days
        self.refresh_seconds = refresh_seconds
        self._events = events
        self._mutex = threading.Lock()
        self._calendar: FiscalCalendar | None = None
        self._stale = True
        self._read_at = 0.0

    def invalidate(self) -> None:
        """The next check reads the store (after a close or reopen in this process)."""
        with self._mutex:
            self._stale = True

    def calendar(self, *, fresh: bool = False) -> FiscalCalendar | None:
        with self._mutex:
            expired = time.monotonic() - self._read_at >= self.refresh_seconds
            if fresh or self._stale or expired:
                version = self._calendar.version if self._calendar else 0
                newer = list(self._events.get(CALENDAR_ID, gt=version))
                if newer:
                    # Readers may hold the old copy: project a new one, never mutate it.
                    base = copy.deepcopy(self._calendar)
                    updated = project_aggregate(base, newer)
                    assert isinstance(updated, FiscalCalendar)
                    self._calendar = updated
                self._read_at, self._stale = time.monotonic(), False
            return self._calendar

    def today(self) -> dt.date:
        return dt.datetime.now(self.zone).date()

    def check_open(self, day: dt.date, what: str, *, fresh: bool = False) -> None:
        self.check_horizon(day, what)
        calendar = self.calendar(fresh=fresh)
        if calendar is not None:
            calendar.check_open(day, what)

    def check_horizon(self, day: dt.date, what: str) -> None:
        latest = self.today() + dt.timedelta(days=self.horizon_days)
        if day > latest:
            # Cash dated far ahead could be spent at once, against money not yet moved.
            raise InvalidValue(
                f"value date {day.isoformat()} of {what} is more than {self.horizon_days} days "
                f"ahead of today ({self.today().isoformat()}, {self.zone.key})"
            )
