"""A grant: a donor's commitment to one school, optionally under a programme.

It owns the commitment, its reductions and its disbursements, so the rule
"a disbursement never exceeds the undisbursed commitment" is checked against
one consistent version of one aggregate.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventsourcing.domain import event

from ledger.domain import chart
from ledger.domain.approvals import PendingDisbursements, Reservation
from ledger.domain.entries import (
    EntryState,
    check_reason,
    check_value_date,
    legs_tuple,
)
from ledger.domain.errors import (
    CurrencyMismatch,
    InsufficientUndisbursed,
    InvalidValue,
    NotReversible,
)
from ledger.domain.money import Leg, check_amount, check_currency


def check_reference(reference: str, what: str = "reference") -> str:
    if not isinstance(reference, str) or not reference.strip() or len(reference) > 100:
        raise InvalidValue(f"{what} must be 1..100 characters")
    return reference


class Grant(PendingDisbursements):
    @classmethod
    def commit(
        cls,
        *,
        entry_id: str,
        donor: str,
        school: str,
        programme: str | None,
        amount: int,
        currency: str,
        value_date: dt.date,
        reference: str,
        actor: str,
        idempotency_key: str,
    ) -> Grant:
        check_amount(amount)
        check_currency(currency)
        return cls(
            entry_id=entry_id,
            donor=donor,
            school=school,
            programme=programme,
            amount=amount,
            currency=currency,
            value_date=check_value_date(value_date),
            reference=check_reference(reference),
            legs=chart.commitment(donor, school, amount, currency),
            actor=actor,
            idempotency_key=idempotency_key,
        )

    @event("Committed")
    def __init__(
        self,
        entry_id: str,
        donor: str,
        school: str,
        programme: str | None,
        amount: int,
        currency: str,
        value_date: dt.date,
        reference: str,
        legs: tuple[Leg, ...],
        actor: str,
        idempotency_key: str,
    ) -> None:
        self.donor = donor
        self.school = school
        self.programme = programme
        self.currency = currency
        self.original_amount = amount
        self.committed = amount
        self.disbursed = 0
        self.commitment_entry = entry_id
        self.entries: dict[str, EntryState] = {
            entry_id: EntryState(
                "commitment", amount, currency, legs_tuple(legs), value_date=value_date
            )
        }
        self.pending_reservations: dict[str, Reservation] = {}

    @property
    def undisbursed(self) -> int:
        return self.committed - self.disbursed

    @property
    def available(self) -> int:
        """Undisbursed and not reserved by a pending disbursement."""
        return self.undisbursed - self.reserved

    def _check_within_undisbursed(self, amount: int, currency: str, what: str) -> None:
        check_amount(amount)
        if currency != self.currency:
            raise CurrencyMismatch(
                f"the grant is in {self.currency}; a {what} in {currency} is refused"
            )
        if amount > self.available:
            held = f" ({self.reserved} more are reserved by pending disbursements)"
            raise InsufficientUndisbursed(
                f"{what} of {amount} minor units exceeds the undisbursed commitment of "
                f"{self.available} {self.currency} minor units" + (held if self.reserved else "")
            )

    def _check_disbursement(
        self, amount: int, currency: str, value_date: dt.date, payment_reference: str
    ) -> None:
        self._check_within_undisbursed(amount, currency, "disbursement")
        check_value_date(value_date)
        check_reference(payment_reference, "payment_reference")

    # -- disbursement -------------------------------------------------------------

    def disburse(
        self,
        *,
        entry_id: str,
        amount: int,
        currency: str,
        value_date: dt.date,
        payment_reference: str,
        actor: str,
        idempotency_key: str,
    ) -> None:
        self._check_disbursement(amount, currency, value_date, payment_reference)
        self._disbursed(
            entry_id=entry_id,
            amount=amount,
            currency=currency,
            value_date=value_date,
            payment_reference=payment_reference,
            legs=chart.disbursement(self.donor, self.school, amount, currency),
            actor=actor,
            idempotency_key=idempotency_key,
        )

    @event("Disbursed")
    def _disbursed(
        self,
        entry_id: str,
        amount: int,
        currency: str,
        value_date: dt.date,
        payment_reference: str,
        legs: tuple[Leg, ...],
        actor: str,
        idempotency_key: str,
    ) -> None:
        self.disbursed += amount
        self.entries[entry_id] = EntryState(
            "disbursement", amount, currency, legs_tuple(legs), value_date=value_date
        )

    # -- reduction / cancellation -------------------------------------------------

    def reduce(
        self,
        *,
        entry_id: str,
        amount: int | None,
        value_date: dt.date,
        reason: str,
        actor: str,
        idempotency_key: str,
    ) -> int:
        """Reduce the undisbursed commitment; ``amount=None`` cancels all of it."""
        if amount is None:
            if self.available == 0:
                raise InsufficientUndisbursed("nothing undisbursed is left to cancel")
            amount = self.available
        self._check_within_undisbursed(amount, self.currency, "reduction")
        self._reduced(
            entry_id=entry_id,
            amount=amount,
            currency=self.currency,
            value_date=check_value_date(value_date),
            reason=check_reason(reason),
            legs=chart.commitment_release(self.donor, self.school, amount, self.currency),
            actor=actor,
            idempotency_key=idempotency_key,
        )
        return amount

    @event("Reduced")
    def _reduced(
        self,
        entry_id: str,
        amount: int,
        currency: str,
        value_date: dt.date,
        reason: str,
        legs: tuple[Leg, ...],
        actor: str,
        idempotency_key: str,
    ) -> None:
        self.committed -= amount
        self.entries[entry_id] = EntryState(
            "reduction", amount, currency, legs_tuple(legs), value_date=value_date
        )

    # -- reversal -----------------------------------------------------------------

    def _check_reversal(self, entry: EntryState) -> None:
        if entry.kind != "commitment":
            return
        if self.reservations:
            raise NotReversible(
                "a commitment with pending disbursements cannot be reversed; reject them first"
            )
        live = [
            e
            for e in self.entries.values()
            if e.kind in ("disbursement", "reduction") and e.reversed_by is None
        ]
        if live:
            raise NotReversible(
                "a commitment with disbursements or reductions still standing cannot be "
                "reversed; reverse those first"
            )

    def _apply_reversal(self, entry: EntryState) -> None:
        if entry.kind == "commitment":
            self.committed -= entry.amount
        elif entry.kind == "disbursement":
            self.disbursed -= entry.amount
        elif entry.kind == "reduction":
            self.committed += entry.amount

    def summary(self) -> dict[str, Any]:
        return {
            "committed": self.committed,
            "disbursed": self.disbursed,
            "undisbursed": self.undisbursed,
        }
