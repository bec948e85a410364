"""Bookkeeping shared by the aggregates that own journal entries.

An aggregate that records a financial fact keeps, per entry id, what a later
reversal needs: the kind, amount and legs, and whether it was reversed already.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain import chart
from ledger.domain.errors import AlreadyReversed, InvalidValue, NotFound, NotReversible
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

    def __deepcopy__(self, memo: dict[int, object]) -> EntryState:
        # Copying cached aggregates is on every command's path: share the immutable
        # parts (strings, ints, the tuple of frozen legs), copy the mutable ones.
        return EntryState(
            self.kind, self.amount, self.currency, self.legs, self.reversed_by, dict(self.details)
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

    def reverse(
        self,
        *,
        entry_id: str,
        reversal_entry_id: str,
        value_date: dt.date,
        reason: str,
        actor: str,
        idempotency_key: str,
    ) -> EntryState:
        """Reverse one of this aggregate's entries; returns the entry reversed."""
        entry = check_reversible(self.entries, entry_id)
        self._check_reversal(entry)
        self._entry_reversed(
            entry_id=entry_id,
            reversal_entry_id=reversal_entry_id,
            value_date=check_value_date(value_date),
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
            "reversal", entry.amount, entry.currency, legs_tuple(legs)
        )
