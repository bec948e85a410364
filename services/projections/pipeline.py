"""Filling a fresh generation with the writing of one batch overlapping the next one's work.

A replay batch is: read (already ahead, see readahead.py), decode and apply in Python,
then COPY and commit, waiting on the database. Here batch N is written and committed on
a thread of its own while batch N+1 is decoded and applied, so that wait overlaps the
Python work. Each batch is still one transaction carrying its tracking position, committed
in order (at most one in flight): a crash leaves a prefix of the batches, which a new
replay drops with its generation. A look-up in the tables (an entry reversed batches
later) first waits for the batch in flight, so it finds every earlier row.

PostgreSQL only: on SQLite a writer locks the file at BEGIN, so the look-up connection
and the writing thread would wait on each other; there the runner replays batch by batch.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from projections.store import tracked_position
from projections.tables import tables_for
from projections.writer import BatchApplier, Facts

if TYPE_CHECKING:
    from projections.readahead import ReadAhead
    from projections.runner import ProjectionRunner


class PipelinedReplay:
    def __init__(self, runner: ProjectionRunner, generation: int, facts: Facts) -> None:
        self.runner = runner
        self.generation = generation
        self.facts = facts
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="projection-writer")
        self._in_flight: tuple[Future[None], int] | None = None

    def _settle(self, progress: Callable[[int], None] | None) -> None:
        """Wait for the batch in flight; its failure is the replay's."""
        if self._in_flight is None:
            return
        future, applied = self._in_flight
        self._in_flight = None
        future.result()
        if progress is not None:
            progress(applied)

    def _write(self, applier: BatchApplier, start: int, end: int) -> None:
        with self.runner.store.engine.begin() as conn:
            applier.conn = conn
            applier.flush(start, end)

    def run(
        self, until: int | None, read: ReadAhead, progress: Callable[[int], None] | None
    ) -> int:
        tables = tables_for(self.generation)
        engine = self.runner.store.engine
        total = 0
        try:
            with engine.connect() as lookups:
                start = tracked_position(lookups, tables)
                lookups.rollback()
                while until is None or start < until:
                    notes = read.select(start + 1)
                    if not notes:
                        break
                    applier = BatchApplier(lookups, tables, self.facts)
                    applier.before_lookup = lambda: self._settle(progress)
                    self.runner.apply_notes(applier, notes)
                    self._settle(progress)
                    # Look-ups read committed rows, never a snapshot from before the flush.
                    lookups.rollback()
                    future = self._writer.submit(self._write, applier, start, notes[-1].id)
                    self._in_flight = (future, len(notes))
                    start = notes[-1].id
                    total += len(notes)
                self._settle(progress)
        finally:
            if self._in_flight is not None:
                self._in_flight[0].exception()  # let it finish before the tables go
            self._writer.shutdown(wait=True)
        return total
