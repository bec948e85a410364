"""Reading the next page of the log while the current one is being applied.

Filling a fresh generation is a loop of "select a page, decode, write, commit": the
select waits on the event store and the write on the read store, one after the
other. Selecting page N+1 on a thread of its own while page N is applied overlaps
the two waits. The page read ahead is exactly what a select at that position would
return (or a prefix of it, had more been appended since), so the result is the same.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from eventsourcing.persistence import Notification

from projections.log import EventLog


class ReadAhead:
    def __init__(self, log: EventLog, limit: int, until: int | None = None) -> None:
        self.log = log
        self.limit = limit
        self.until = until
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="projection-read-ahead")
        self._next: tuple[int, Future[list[Notification]]] | None = None

    def _select(self, start: int) -> list[Notification]:
        return list(self.log.select(start, self.limit, self.until))

    def select(self, start: int) -> list[Notification]:
        """The page from ``start``; starts reading the page after it if this one was full."""
        ahead, self._next = self._next, None
        if ahead is not None and ahead[0] == start:
            notes = ahead[1].result()
        else:
            # Someone else moved the position (or nothing was read ahead): read it now.
            notes = self._select(start)
        if len(notes) == self.limit and (self.until is None or notes[-1].id < self.until):
            after = notes[-1].id + 1
            self._next = (after, self._pool.submit(self._select, after))
        return notes

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
