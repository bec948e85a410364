"""Bookkeeping shared by the aggregates that own journal entries.

An aggregate that records a financial fact keeps, per entry id, what a later
reversal needs: the kind, amount, legs and value date, and whether it was reversed
already.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain import chart
from ledger.domain.errors import (
    AlreadyReversed,
    InvalidValue,
    NotFound,
    NotReversible,
    ReversalBeforeEntry,
)
from ledger.domain.money import Leg

# Value dates outside this window are typing mistakes, not payments of this programme.
EARLIEST_VALUE_DATE = dt.date(2000, 1, 1)
LATEST_VALUE_DATE = dt.date(2100, 12, 31)


def check_value_date(value_date: dt.date) -> dt.date:
    if not isinstance(value_date, dt.date) or isinstance(value_date, dt.datetime):
        raise InvalidValue("value_date must be a calendar date")
    if not EARLIEST_VALUE_DATE <= value_date <= LATEST_VALUE_DATE:
        raise InvalidValue(
            f"value_date must be between {EARLIEST_VALUE_DATE} and {LATEST_VALUE_DATE}"
        )
    return value_date


def check_reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise InvalidValue("reason must be 1..500 characters")
    return reason


@dataclass
class EntryState:
    kind: str
    amount: int
    currency: str
    legs: tuple[Leg, ...]
    reversed_by: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    # None only for an entry restored from a snapshot taken before entry states kept
    # their value dates; its recording event still carries the date.
    value_date: dt.date | None = None

    def __deepcopy__(self, memo: dict[int, object]) -> EntryState:
        # Copying cached aggregates is on every command's path: share the immutable
        # parts (strings, ints, dates, the tuple of frozen legs), copy the mutable ones.
        return EntryState(
            self.kind,
            self.amount,
            self.currency,
            self.legs,
            self.reversed_by,
            dict(self.details),
            self.value_date,
        )


def check_reversible(entries: dict[str, EntryState], entry_id: str) -> EntryState:
    try:
        entry = entries[entry_id]
    except KeyError:
        raise NotFound(f"entry {entry_id} is not recorded here") from None
    if entry.kind == "reversal":
        raise NotReversible("a reversal is not reversed; record a new correct entry instead")
    if entry.reversed_by is not None:
        raise AlreadyReversed(f"entry {entry_id} was already reversed by {entry.reversed_by}")
    return entry


def check_reversal_date(entry_id: str, entry_date: dt.date | None, value_date: dt.date) -> None:
    """A reversal is dated on or after the entry it reverses: a balance "as of" a day
    between the two would otherwise show the correction without the mistake."""
    if entry_date is not None and value_date < entry_date:
        raise ReversalBeforeEntry(
            f"the reversal's value date {value_date.isoformat()} lies before the value date "
            f"{entry_date.isoformat()} of entry {entry_id}; date it on or after that day"
        )


class EntryLocator(Aggregate):
    """Says which aggregate owns an entry, so a reversal can find it by entry id alone.

    Its id *is* the entry id: recorded in the same save as the entry itself.
    """

    @staticmethod
    def create_id(entry_id: str, **_: object) -> UUID:
        return UUID(entry_id)

    @event("Registered")
    def __init__(
        self,
        entry_id: str,
        kind: str,
        owner_type: str,
        owner_id: UUID,
        reverses: str | None,
        actor: str,
        idempotency_key: str,
    ) -> None:
        self.kind = kind
        self.owner_type = owner_type
        self.owner_id = owner_id
        self.reverses = reverses


def new_locator(
    entry_id: str,
    kind: str,
    owner: Aggregate,
    *,
    actor: str,
    idempotency_key: str,
    reverses: str | None = None,
) -> EntryLocator:
    return EntryLocator(
        entry_id=entry_id,
        kind=kind,
        owner_type=type(owner).__name__,
        owner_id=owner.id,
        reverses=reverses,
        actor=actor,
        idempotency_key=idempotency_key,
    )


def legs_tuple(legs: Sequence[Leg]) -> tuple[Leg, ...]:
    # Stored events decode JSON arrays as lists; keep state uniform as tuples.
    return tuple(legs)


class EntryOwner(Aggregate):
    """An aggregate that owns journal entries and reverses them, each at most once."""

    if TYPE_CHECKING:  # declared here only for type checkers: an annotation at run time
        # would become a field of every event class the metaclass derives.
        entries: dict[str, EntryState]

    def entry_value_date(self, entry_id: str) -> dt.date | None:
        """The value date of one of this aggregate's entries, if its state knows it."""
        entry = self.entries.get(entry_id)
        return entry.value_date if entry is not None else None

    def reverse(
        self,
        *,
        entry_id: str,
        reversal_entry_id: str,
        value_date: dt.date,
        reason: str,
        actor: str,
        idempotency_key: str,
        recorded_value_date: dt.date | None = None,
    ) -> EntryState:
        """Reverse one of this aggregate's entries; returns the entry reversed.

        ``recorded_value_date``: the entry's value date as its recording event says, for
        an entry whose state came from a snapshot older than entry value dates.
        """
        entry = check_reversible(self.entries, entry_id)
        check_reversal_date(
            entry_id, entry.value_date or recorded_value_date, check_value_date(value_date)
        )
        self._check_reversal(entry)
        self._entry_reversed(
            entry_id=entry_id,
            reversal_entry_id=reversal_entry_id,
            value_date=value_date,
            reason=check_reason(reason),
            legs=chart.reversal(entry.legs),
            actor=actor,
            idempotency_key=idempotency_key,
        )
        return entry

    def _check_reversal(self, entry: EntryState) -> None:
        """Refuse a reversal that would leave an impossible balance (override)."""

    def _apply_reversal(self, entry: EntryState) -> None:
        """Undo the entry's effect on this aggregate's balances (override)."""

    @event("EntryReversed")
    def _entry_reversed(
        self,
        entry_id: str,
        reversal_entry_id: str,
        value_date: dt.date,
        reason: str,
        legs: tuple[Leg, ...],
        actor: str,
        idempotency_key: str,
    ) -> None:
        entry = self.entries[entry_id]
        entry.reversed_by = reversal_entry_id
        self._apply_reversal(entry)
        self.entries[reversal_entry_id] = EntryState(
            "reversal", entry.amount, entry.currency, legs_tuple(legs), value_date=value_date
        )
