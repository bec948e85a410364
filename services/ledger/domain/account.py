"""A school's account: cash on hand per currency and the school's expenditures.

A disbursement changes both the grant and this account, saved together, so
"an expenditure never exceeds cash on hand" is checked against a consistent balance.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from ledger.domain import chart
from ledger.domain.entries import (
    EntryOwner,
    EntryState,
    check_value_date,
    legs_tuple,
)
from ledger.domain.errors import InsufficientCash, InvalidValue
from ledger.domain.grant import check_reference
from ledger.domain.money import Leg, check_amount, check_currency
from ledger.domain.registry import LEDGER_NAMESPACE
from ledger.domain.sources import spent_from, upcast_naming_no_source

if TYPE_CHECKING:
    from ledger.domain.grant import Grant
    from ledger.domain.registry import Programme

CATEGORY_PATTERN = r"^[a-z0-9][a-z0-9-]{1,47}$"
_CATEGORY = re.compile(CATEGORY_PATTERN)


def check_category(category: str, what: str = "category") -> str:
    if not isinstance(category, str) or not _CATEGORY.match(category):
        raise InvalidValue(f"{what} must match {CATEGORY_PATTERN}, got {category!r}")
    return category


def check_description(description: str) -> str:
    if not isinstance(description, str) or len(description) > 500:
        raise InvalidValue("description must be at most 500 characters")
    return description


def account_id(school: str) -> UUID:
    return uuid5(LEDGER_NAMESPACE, f"school-account:{school}")


class SchoolAccount(EntryOwner):
    @classmethod
    def open(cls, *, school: str, actor: str, idempotency_key: str) -> SchoolAccount:
        return cls(school=school, actor=actor, idempotency_key=idempotency_key)

    @staticmethod
    def create_id(school: str, **_: Any) -> UUID:
        return account_id(school)

    @event("Opened")
    def __init__(self, school: str, actor: str, idempotency_key: str) -> None:
        self.school = school
        self.cash: dict[str, int] = {}
        self.entries: dict[str, EntryState] = {}

    def cash_on_hand(self, currency: str) -> int:
        return self.cash.get(currency, 0)

    def _check_cash(self, amount: int, currency: str, what: str) -> None:
        if amount > self.cash_on_hand(currency):
            raise InsufficientCash(
                f"{what} of {amount} {currency} minor units exceeds cash on hand of "
                f"{self.cash_on_hand(currency)}"
            )

    # -- cash in and out through grants (their legs are on the grant's events) ------

    def receive(
        self, *, entry_id: str, amount: int, currency: str, actor: str, idempotency_key: str
    ) -> None:
        self._funds_received(
            entry_id=entry_id,
            amount=amount,
            currency=currency,
            actor=actor,
            idempotency_key=idempotency_key,
        )

    @event("FundsReceived")
    def _funds_received(
        self, entry_id: str, amount: int, currency: str, actor: str, idempotency_key: str
    ) -> None:
        self.cash[currency] = self.cash_on_hand(currency) + amount

    def withdraw_for_reversal(
        self, *, entry_id: str, amount: int, currency: str, actor: str, idempotency_key: str
    ) -> None:
        self._check_cash(amount, currency, "reversing a disbursement")
        self._funds_withdrawn(
            entry_id=entry_id,
            amount=amount,
            currency=currency,
            actor=actor,
            idempotency_key=idempotency_key,
        )

    @event("FundsWithdrawn")
    def _funds_withdrawn(
        self, entry_id: str, amount: int, currency: str, actor: str, idempotency_key: str
    ) -> None:
        self.cash[currency] = self.cash_on_hand(currency) - amount

    # -- expenditure ----------------------------------------------------------------

    def spend(
        self,
        *,
        entry_id: str,
        amount: int,
        currency: str,
        category: str,
        value_date: dt.date,
        reference: str,
        description: str,
        actor: str,
        idempotency_key: str,
        from_grant: Grant | None = None,
        from_programme: Programme | None = None,
    ) -> None:
        """Spend cash; ``from_grant`` (a grant of this school) or ``from_programme`` names
        where the money came from, else the read side attributes it by its one rule."""
        check_amount(amount)
        check_currency(currency)
        self._check_cash(amount, currency, "expenditure")
        source = spent_from(self.school, from_grant, from_programme)
        self._expenditure_recorded(
            entry_id=entry_id,
            amount=amount,
            currency=currency,
            category=check_category(category),
            value_date=check_value_date(value_date),
            reference=check_reference(reference),
            description=check_description(description),
            **source,
            legs=chart.expenditure(self.school, category, amount, currency),
            actor=actor,
            idempotency_key=idempotency_key,
        )

    class ExpenditureRecorded(EntryOwner.Event):
        """A school spent cash. v2 added where the money came from; v1 events name neither."""

        class_version = 2
        entry_id: str
        amount: int
        currency: str
        category: str
        value_date: dt.date
        reference: str
        description: str
        from_grant: str | None
        from_programme: str | None
        legs: tuple[Leg, ...]
        actor: str
        idempotency_key: str

        upcast_v1_v2 = staticmethod(upcast_naming_no_source)

    @event(ExpenditureRecorded)
    def _expenditure_recorded(
        self,
        entry_id: str,
        amount: int,
        currency: str,
        category: str,
        value_date: dt.date,
        reference: str,
        description: str,
        from_grant: str | None,
        from_programme: str | None,
        legs: tuple[Leg, ...],
        actor: str,
        idempotency_key: str,
    ) -> None:
        self.cash[currency] = self.cash_on_hand(currency) - amount
        self.entries[entry_id] = EntryState(
            "expenditure", amount, currency, legs_tuple(legs), value_date=value_date
        )

    def _apply_reversal(self, entry: EntryState) -> None:
        self.cash[entry.currency] = self.cash_on_hand(entry.currency) + entry.amount
