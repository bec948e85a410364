"""Follows the event log into the read models: in-process or as its own process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from eventsourcing.persistence import Notification
from sqlalchemy import Connection

from projections.allocation import fewer_collections
from projections.audit.chainer import AuditChainer, Batch
from projections.facts import IGNORED
from projections.leader import Leadership
from projections.log import EventLog
from projections.pipeline import PipelinedReplay
from projections.readahead import ReadAhead
from projections.store import ReadStore, active_generation, tracked_position, transaction
from projections.tables import tables_for
from projections.writer import BatchApplier, Facts, TrackingConflict

log = logging.getLogger("projections.runner")

# How soon a standby notices that the active runner is gone.
STANDBY_POLL_SECONDS = 1.0
# Events per transaction when filling a generation that nobody reads yet (rebuild,
# verify): the commit, the tracking update and the running-balance upserts are paid
# per batch, so ten times fewer of them; a few MB of rows in memory.
REPLAY_BATCH_SIZE = 5000


def topic_name(topic: str) -> str:
    """The event class name a stored topic ends in (what the read side matches on)."""
    return topic.rpartition(":")[2]


class ProjectionRunner:
    def __init__(
        self,
        log: EventLog,
        store: ReadStore,
        *,
        batch_size: int = 500,
        replay_batch_size: int = REPLAY_BATCH_SIZE,
        poll_seconds: float = 0.25,
    ) -> None:
        self.log = log
        self.store = store
        self.batch_size = batch_size
        self.replay_batch_size = replay_batch_size
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.leadership = Leadership(store)
        # The hash chain and event feed follow the same log under the same leader.
        self.audit = AuditChainer(log, store, batch_size=batch_size)
        # Per generation: a replay into scratch tables must not borrow what the live
        # tables said (verify would then miss a tampered row).
        self._facts: dict[int, Facts] = {}
        # Called with the event type names of every applied batch (metrics).
        self.on_batch: list[Callable[[list[str]], None]] = []
        # Called (from the runner's thread) whenever the loop applied something:
        # the read side wakes the requests waiting for a position.
        self.on_advance: list[Callable[[], None]] = []
        self.role = "starting"
        # The live read models' position after this runner's last committed batch,
        # and that batch (for the chainer).
        self.position: int | None = None
        self.last_batch: Batch | None = None
        self._leadership_checked = 0.0

    def run_once(
        self,
        *,
        generation: int | None = None,
        until: int | None = None,
        read: ReadAhead | None = None,
        connection: Connection | None = None,
    ) -> int:
        """Apply the next batch to a generation (the active one by default).

        Returns how many events were applied; the batch and the new position are
        one transaction, so a crash leaves either all of it or none of it. A live
        batch is kept (``last_batch``) for the audit chainer, which chains the same
        events next: read once, decoded once.
        """
        with transaction(self.store.engine, connection) as conn:
            gen = generation if generation is not None else active_generation(conn)
            tables = tables_for(gen)
            start = tracked_position(conn, tables)
            if until is not None and start >= until:
                return 0
            limit = self.batch_size if generation is None else self.replay_batch_size
            notifications: list[Notification] = (
                read.select(start + 1)
                if read is not None
                else list(self.log.select(start + 1, limit, until))
            )
            if not notifications:
                return 0
            applier = BatchApplier(conn, tables, self._facts.setdefault(gen, Facts()))
            types, decoded = self.apply_notes(applier, notifications)
            applier.flush(start, notifications[-1].id)
        if generation is None:  # the live read models, not a rebuild or verify replay
            self.position = notifications[-1].id
            self.last_batch = Batch(notifications, decoded)
            for callback in self.on_batch:
                callback(types)
        return len(notifications)

    def apply_notes(
        self, applier: BatchApplier, notifications: list[Notification]
    ) -> tuple[list[str], dict[int, object]]:
        """Decode and apply a batch (nothing written yet): its event type names, and the
        events decoded by position."""
        types = []
        decoded: dict[int, object] = {}
        for n in notifications:
            name = topic_name(n.topic)
            if name in IGNORED:
                # Two events in three (claims, locators, account openings): decoding
                # them was most of the decode cost, for nothing the read side keeps.
                types.append(name)
                continue
            event = decoded[n.id] = self.log.decode(n)
            types.append(type(event).__qualname__)
            applier.apply(event, n.id)
        return types, decoded

    def forget(self, generation: int) -> None:
        """Drop what was learnt while replaying a generation (after dropping its tables)."""
        self._facts.pop(generation, None)

    def catch_up(
        self,
        *,
        generation: int | None = None,
        until: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        if generation is None:
            return self._catch_up(generation, until, progress, None)
        # A generation nobody follows yet: read the next page while applying this one,
        # and (PostgreSQL) write each batch while applying the next.
        with ReadAhead(self.log, self.replay_batch_size, until) as read, fewer_collections():
            if self.store.engine.dialect.name == "postgresql":
                facts = self._facts.setdefault(generation, Facts())
                return PipelinedReplay(self, generation, facts).run(until, read, progress)
            return self._catch_up(generation, until, progress, read)

    def _catch_up(
        self,
        generation: int | None,
        until: int | None,
        progress: Callable[[int], None] | None,
        read: ReadAhead | None,
    ) -> int:
        total = 0
        while True:
            n = self.run_once(generation=generation, until=until, read=read)
            if n == 0:
                if generation is None and until is None:
                    self.audit.catch_up()
                return total
            total += n
            if progress is not None:
                progress(n)

    # -- background following ----------------------------------------------------------

    def wake(self, _: object = None) -> None:
        """Called after a commit in this process: follow without waiting for the poll."""
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="projection-runner", daemon=True)
        self._thread.start()
        # Wakes on appends by any process (PostgreSQL NOTIFY); elsewhere the loop polls.
        threading.Thread(
            target=self.log.listen,
            args=(self.wake, self._stop),
            name="projection-listen",
            daemon=True,
        ).start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.leadership.release()

    def _lead(self) -> bool:
        """Hold the runner lock, or stand by; checked between batches.

        That the lock's session is still alive is asked at most once per standby poll,
        not before every batch (two round trips each): the conditional tracking update
        already keeps a runner that lost it from applying anything twice.
        """
        try:
            leading = self.leadership.try_acquire()
            now = time.monotonic()
            if leading and now - self._leadership_checked >= STANDBY_POLL_SECONDS:
                leading = self.leadership.still_held()
                self._leadership_checked = now
        except Exception as e:
            self.last_error = repr(e)
            leading = False
        self.role = "active" if leading else "standby"
        return leading

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self._lead():
                self._stop.wait(STANDBY_POLL_SECONDS)
                continue
            applied = chained = 0
            try:
                # One pooled connection (one liveness ping) for both transactions.
                with self.store.engine.connect() as conn:
                    applied = self.run_once(connection=conn)
                    if applied:
                        # Readers waiting for a position wake now, not after the chaining.
                        self._advanced()
                    batch, self.last_batch = self.last_batch, None
                    chained = self.audit.run_once(connection=conn, batch=batch)
                self.last_error = None
            except TrackingConflict:
                applied = 1  # another runner moved on; read its position and go on
            except Exception as e:
                # Keep following: a transient database error must not stop the read side.
                self.last_error = repr(e)
                log.exception("projection batch failed; retrying")
                time.sleep(1.0)
                continue
            if applied == 0 and chained == 0:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def _advanced(self) -> None:
        for callback in self.on_advance:
            callback()
