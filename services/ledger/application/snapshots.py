"""Snapshots written off the sequencer thread.

A snapshot of a busy grant is large, and its insert (its own transaction) costs as
much as a round's commit; the sequencer must not wait for it. It is encoded at once,
while the aggregate is exactly the committed state, and written by this thread.
A snapshot lost in a crash costs only a longer load: the events are the record.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from eventsourcing.persistence import EventStore, StoredEvent

log = logging.getLogger("ledger.snapshots")


class SnapshotWriter:
    def __init__(self, store: EventStore[Any]) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[StoredEvent | threading.Event | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="snapshot-writer", daemon=True)
        self._thread.start()

    def put(self, snapshot: Any) -> None:
        self._queue.put(self._store.mapper.to_stored_event(snapshot))

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every snapshot handed over so far is written (or failed)."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        batch: list[StoredEvent] = []
        while True:
            item = self._queue.get() if not batch else self._next()
            if isinstance(item, StoredEvent):
                batch.append(item)
                continue
            self._write(batch)
            batch = []
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()

    def _next(self) -> StoredEvent | threading.Event | bool | None:
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return False  # nothing more queued: write what there is

    def _write(self, batch: list[StoredEvent]) -> None:
        if not batch:
            return
        try:
            self._store.recorder.insert_events(batch)
        except Exception:
            # Another process wrote the same version first, or the store failed.
            log.warning("snapshots not written", exc_info=True)
