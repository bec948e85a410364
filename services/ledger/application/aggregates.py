"""The sequencer's aggregates: one authoritative copy each, and the open batch.

Only the sequencer thread touches these objects, so commands change them in place
and nothing is copied. The cache is bounded (least recently used goes first, and is
read again from its latest snapshot when next needed). It also remembers ids known
to have no events, so a check such as "is this code registered?" costs no query;
a refusal is confirmed on stored state anyway, and a commit creating an aggregate
another process created first fails on its version.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, project_aggregate
from eventsourcing.domain import Aggregate

from ledger.application.unit_of_work import UnitOfWork
from ledger.domain.periods import CALENDAR_ID

Load = Callable[[UUID], Aggregate]
Newer = Callable[[UUID, int], list[Any]]


class Batch:
    """What the open round has decided and not yet committed."""

    def __init__(self) -> None:
        self.claims: set[UUID] = set()
        # Changed by a decided command and not yet committed.
        self.dirty: set[UUID] = set()
        # Everything the round read or changed: dropped if its commit fails.
        self.touched: set[UUID] = set()
        # The version each aggregate had when the round first read it.
        self.reads: dict[UUID, int] = {}
        self.events_by_id: defaultdict[UUID, list[Any]] = defaultdict(list)
        self.changed: dict[UUID, Aggregate] = {}

    def view(self, state: AggregateState) -> BatchView:
        return BatchView(state, self)

    def record(self, uow: UnitOfWork, events: Iterable[Any], cid: UUID) -> None:
        self.claims.add(cid)
        for aggregate in uow.changed:
            self.dirty.add(aggregate.id)
            self.touched.add(aggregate.id)
            self.changed[aggregate.id] = aggregate
        for event in events:
            self.events_by_id[event.originator_id].append(event)

    def unchanged(self) -> dict[UUID, int]:
        """Read and not written by the round: the commit checks nobody else wrote it.

        Only the calendar needs this (an entry reads it and writes nothing of it);
        what a command writes is checked by its own versions.
        """
        if CALENDAR_ID in self.reads and CALENDAR_ID not in self.dirty:
            return {CALENDAR_ID: self.reads[CALENDAR_ID]}
        return {}

    def changed_aggregates(self) -> list[Aggregate]:
        return list(self.changed.values())

    def committed(self) -> None:
        self.dirty.clear()


class BatchView:
    """The workspace a command decides in: the state, noting what the round reads."""

    def __init__(self, state: AggregateState, batch: Batch) -> None:
        self._state = state
        self._batch = batch

    def load(self, aggregate_id: UUID) -> Aggregate:
        batch = self._batch
        batch.touched.add(aggregate_id)
        try:
            aggregate = self._state.get(aggregate_id)
        except AggregateNotFoundError:
            batch.reads.setdefault(aggregate_id, 0)
            raise
        if aggregate_id not in batch.dirty:
            batch.reads.setdefault(aggregate_id, aggregate.version)
        return aggregate


class AggregateState:
    def __init__(self, load: Load, newer: Newer, maxsize: int = 5000) -> None:
        self._load = load
        self._newer = newer
        self.maxsize = maxsize
        # None: known to have no events.
        self._items: OrderedDict[UUID, Aggregate | None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, aggregate_id: UUID) -> Aggregate:
        try:
            aggregate = self._items[aggregate_id]
        except KeyError:
            aggregate = self._stored(aggregate_id)
            self._items[aggregate_id] = aggregate
        else:
            self._items.move_to_end(aggregate_id)
        if aggregate is None:
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    def keep(self, aggregates: Iterable[Aggregate]) -> None:
        for aggregate in aggregates:
            self._items[aggregate.id] = aggregate

    def drop(self, ids: Iterable[UUID]) -> None:
        for aggregate_id in ids:
            self._items.pop(aggregate_id, None)

    def trim(self) -> None:
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def undo(self, uow: UnitOfWork, batch: Batch) -> None:
        """Take back what a refused command applied before it was refused.

        An aggregate with pending events was changed by this command: it is read
        again and the round's earlier decided events are applied on top.
        """
        for aggregate_id, aggregate in uow.loaded.items():
            if aggregate is not None and aggregate.pending_events:
                stored = self._stored(aggregate_id)
                self._items[aggregate_id] = project_aggregate(
                    stored, batch.events_by_id.get(aggregate_id, [])
                )

    def refresh(self, loaded: dict[UUID, Aggregate | None], batch: Batch) -> bool:
        """Bring what a refused command read up to the store; True if anything was newer.

        What the open round changed is skipped: if it is stale, the round's commit
        fails and the refusal is decided again with the rest.
        """
        advanced = False
        for aggregate_id, aggregate in loaded.items():
            if aggregate_id in batch.dirty:
                continue
            if aggregate is None:
                stored = self._stored(aggregate_id)
                if stored is not None:
                    self._items[aggregate_id] = stored
                    batch.reads.pop(aggregate_id, None)
                    advanced = True
                continue
            newer = self._newer(aggregate_id, aggregate.version)
            if newer:
                self._items[aggregate_id] = project_aggregate(aggregate, newer)
                batch.reads.pop(aggregate_id, None)
                advanced = True
        return advanced

    def _stored(self, aggregate_id: UUID) -> Aggregate | None:
        try:
            return self._load(aggregate_id)
        except AggregateNotFoundError:
            return None
