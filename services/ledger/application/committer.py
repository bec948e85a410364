"""Group commit: the events of many commands in one event-store transaction.

The library's stores take a table lock per ``insert_events`` call, so one command
per transaction caps recording near the lock's round-trip rate. The sequencer hands
each round's commands here together; each command's events stay contiguous, and
the whole batch is atomic: it is recorded entirely or not at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import EventStore, IntegrityError, Recording

log = logging.getLogger("ledger.committer")

Events = Sequence[DomainEventProtocol[Any]]

# How long a command waits for its round by default (``LEDGER_COMMIT_WAIT_SECONDS``).
DEFAULT_WAIT_SECONDS = 10.0


class CommitNotStarted(Exception):
    """The wait ended before the command was taken up: nothing was or will be recorded."""


class CommitOutcomeUnknown(Exception):
    """The wait ended while the command's round was running: it may still be recorded.

    Only a retry with the same idempotency key is safe: it returns the recorded
    answer if the entry landed, and records it once if it did not.
    """


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
    def __init__(self, store: EventStore[Any]) -> None:
        self._store = store
        # Called after every commit (e.g. to wake the in-process projection runner).
        self.listeners: list[Callable[[CommitReport], None]] = []
        self.stats = CommitStats()

    def commit(
        self, batch: Sequence[Events], *, unchanged: Mapping[UUID, int] | None = None
    ) -> list[list[int]]:
        """Record every command's events in one transaction; their log positions.

        ``unchanged``: aggregates the batch read but did not write, at the versions it
        read; the commit fails if another writer changed one. Raises ``IntegrityError``
        (a version taken, or an unchanged aggregate changed) and nothing is recorded.
        """
        events = [e for item in batch for e in item]
        started = time.perf_counter()
        try:
            recordings: list[Recording[Any]] = self._store.put(events, unchanged=unchanged or {})
        except IntegrityError:
            self.stats.conflicts += 1
            raise
        report = CommitReport(
            commands=len(batch),
            events=len(events),
            seconds=time.perf_counter() - started,
            event_types=[type(e).__qualname__ for e in events],
        )
        self.stats.transactions += 1
        self.stats.commands += len(batch)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        for listener in self.listeners:
            try:
                listener(report)
            except Exception:
                # Recorded already: a listener's failure must not look like a failed commit.
                log.exception("commit listener failed")
        positions: list[list[int]] = []
        offset = 0
        for item in batch:
            n = len(item)
            positions.append([r.notification.id for r in recordings[offset : offset + n]])
            offset += n
        return positions
