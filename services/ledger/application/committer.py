"""Group commit: concurrent commands share one event-store transaction.

The library's stores take a table lock per ``insert_events`` call, so one command
per transaction caps recording near the lock's round-trip rate. Worker threads hand
their command's events to one committer thread; whatever has queued while the
previous transaction ran is written in the next one. Each command's events stay
contiguous and atomic. If the shared transaction hits a version conflict, the batch
is re-committed one command at a time so only the conflicting command fails.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import EventStore, IntegrityError, Recording

Events = Sequence[DomainEventProtocol[Any]]

# How long a command waits for its transaction by default (``LEDGER_COMMIT_WAIT_SECONDS``).
DEFAULT_WAIT_SECONDS = 10.0


class CommitNotStarted(Exception):
    """The wait ended before the transaction began: nothing was or will be recorded."""


class CommitOutcomeUnknown(Exception):
    """The wait ended while the transaction was running: it may still be recorded.

    Only a retry with the same idempotency key is safe: it returns the recorded
    answer if the entry landed, and records it once if it did not.
    """


@dataclass
class _Pending:
    events: Events
    future: Future[list[int]] = field(default_factory=Future)


@dataclass(frozen=True)
class CommitReport:
    """What one event-store transaction wrote (for metrics and the projection runner)."""

    commands: int
    events: int
    seconds: float
    event_types: list[str]


@dataclass
class CommitStats:
    transactions: int = 0
    commands: int = 0
    conflicts: int = 0
    largest_batch: int = 0


class GroupCommitter:
    def __init__(
        self,
        store: EventStore[Any],
        *,
        max_batch: int = 512,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
    ) -> None:
        self._store = store
        self._max_batch = max_batch
        self.wait_seconds = wait_seconds
        # Called after every commit (e.g. to wake the in-process projection runner).
        self.listeners: list[Callable[[CommitReport], None]] = []
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._closed = threading.Event()
        self.stats = CommitStats()
        self._thread = threading.Thread(target=self._run, name="group-committer", daemon=True)
        self._thread.start()

    def commit(self, events: Events, timeout: float | None = None) -> list[int]:
        """Record ``events`` atomically; returns their log positions, in order.

        Raises ``IntegrityError`` when another writer got to one of the versions first;
        after ``timeout`` (default ``wait_seconds``), ``CommitNotStarted`` if the batch
        had not been taken up (it never will be), else ``CommitOutcomeUnknown``.
        """
        if self._closed.is_set():
            msg = "the committer is closed"
            raise RuntimeError(msg)
        pending = _Pending(events)
        self._queue.put(pending)
        wait = self.wait_seconds if timeout is None else timeout
        try:
            return pending.future.result(timeout=wait)
        except TimeoutError:
            # cancel() only succeeds while the committer has not taken the item up.
            if pending.future.cancel():
                msg = f"the event store did not start the commit within {wait:g}s"
                raise CommitNotStarted(msg) from None
            msg = f"the commit did not finish within {wait:g}s and may still be recorded"
            raise CommitOutcomeUnknown(msg) from None

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._queue.put(None)
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            self._flush(batch)

    def _flush(self, batch: list[_Pending]) -> None:
        # Claim every item before writing: one whose caller gave up (cancelled) is
        # dropped, so "not started" stays true; a claimed one can no longer be cancelled.
        batch = [item for item in batch if item.future.set_running_or_notify_cancel()]
        # Two commands in one batch writing the same aggregate version cannot both
        # win; fail the later one now so the rest still share one transaction.
        seen: set[tuple[Any, int]] = set()
        clean: list[_Pending] = []
        for item in batch:
            keys = {(e.originator_id, e.originator_version) for e in item.events}
            if keys & seen:
                self.stats.conflicts += 1
                item.future.set_exception(IntegrityError("version taken within the batch"))
                continue
            seen |= keys
            clean.append(item)
        if not clean:
            return
        try:
            self._put(clean)
        except IntegrityError:
            for item in clean:
                try:
                    self._put([item])
                except IntegrityError as e:
                    self.stats.conflicts += 1
                    item.future.set_exception(e)
                except Exception as e:
                    item.future.set_exception(e)
        except Exception as e:
            for item in clean:
                item.future.set_exception(e)

    def _put(self, items: list[_Pending]) -> None:
        events = [e for item in items for e in item.events]
        started = time.perf_counter()
        recordings: list[Recording[Any]] = self._store.put(events)
        report = CommitReport(
            commands=len(items),
            events=len(events),
            seconds=time.perf_counter() - started,
            event_types=[type(e).__qualname__ for e in events],
        )
        self.stats.transactions += 1
        self.stats.commands += len(items)
        self.stats.largest_batch = max(self.stats.largest_batch, len(items))
        for listener in self.listeners:
            listener(report)
        offset = 0
        for item in items:
            n = len(item.events)
            item.future.set_result([r.notification.id for r in recordings[offset : offset + n]])
            offset += n
