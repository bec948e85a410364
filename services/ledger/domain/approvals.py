"""Four-eyes disbursements: a large payment waits, reserved, until a second person decides.

A pending disbursement reserves part of the grant's undisbursed commitment (no
other payment or reduction can use it) but posts no legs. Approval by someone else
posts exactly the legs a direct disbursement would; rejection or expiry releases
the reservation. Each step is an event of the grant, so the rule "reservations and
disbursements never exceed the commitment" is checked on one aggregate version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eventsourcing.domain import event

from ledger.domain import chart
from ledger.domain.entries import EntryOwner, EntryState, check_reason, legs_tuple
from ledger.domain.errors import (
    ApprovalExpired,
    InvalidValue,
    NotPending,
    NotReversible,
    SelfApprovalForbidden,
)
from ledger.domain.money import Leg


@dataclass(frozen=True)
class Reservation:
    """A disbursement waiting for its second person."""

    amount: int
    currency: str
    value_date: dt.date
    payment_reference: str
    requested_by: str
    expires_at: dt.datetime

    def __deepcopy__(self, memo: dict[int, object]) -> Reservation:
        return self  # immutable: cached copies of the grant share it


def _aware(moment: dt.datetime) -> dt.datetime:
    if not isinstance(moment, dt.datetime) or moment.tzinfo is None:
        raise InvalidValue("times must be timezone-aware")
    return moment


class PendingDisbursements(EntryOwner):
    """The maker-checker half of a grant (mixed into ``Grant``)."""

    if TYPE_CHECKING:  # attributes of the grant (see EntryOwner for why only here)
        donor: str
        school: str
        disbursed: int

    def _check_disbursement(
        self, amount: int, currency: str, value_date: dt.date, payment_reference: str
    ) -> None:
        """The checks of a direct disbursement (the grant implements them)."""
        raise NotImplementedError

    @property
    def reservations(self) -> dict[str, Reservation]:
        # Set when the grant is committed; a snapshot taken before this feature
        # existed lacks it, and such a grant has none pending.
        found: dict[str, Reservation] = self.__dict__.setdefault("pending_reservations", {})
        return found

    @property
    def reserved(self) -> int:
        return sum(r.amount for r in self.reservations.values())

    def pending_item(self, entry_id: str) -> Reservation:
        try:
            return self.reservations[entry_id]
        except KeyError:
            raise NotPending(
                f"entry {entry_id} is not a pending disbursement of this grant (it may have "
                "been approved, rejected or expired already)"
            ) from None

    # -- request ------------------------------------------------------------------

    def request_disbursement(
        self,
        *,
        entry_id: str,
        amount: int,
        currency: str,
        value_date: dt.date,
        payment_reference: str,
        expires_at: dt.datetime,
        actor: str,
        idempotency_key: str,
    ) -> None:
        """Reserve ``amount`` for a disbursement that a second person must approve."""
        self._check_disbursement(amount, currency, value_date, payment_reference)
        self._disbursement_requested(
            entry_id=entry_id,
            amount=amount,
            currency=currency,
            value_date=value_date,
            payment_reference=payment_reference,
            expires_at=_aware(expires_at),
            actor=actor,
            idempotency_key=idempotency_key,
        )

    @event("DisbursementRequested")
    def _disbursement_requested(
        self,
        entry_id: str,
        amount: int,
        currency: str,
        value_date: dt.date,
        payment_reference: str,
        expires_at: dt.datetime,
        actor: str,
        idempotency_key: str,
    ) -> None:
        self.reservations[entry_id] = Reservation(
            amount, currency, value_date, payment_reference, actor, expires_at
        )

    # -- decisions ----------------------------------------------------------------

    def approve_disbursement(
        self, *, entry_id: str, reason: str, now: dt.datetime, actor: str, idempotency_key: str
    ) -> Reservation:
        """Post the pending disbursement's legs; returns what was approved."""
        pending = self.pending_item(entry_id)
        if actor == pending.requested_by:
            raise SelfApprovalForbidden(
                f"{actor} requested disbursement {entry_id}; a different person must approve it"
            )
        if _aware(now) > pending.expires_at:
            raise ApprovalExpired(
                f"disbursement {entry_id} could be approved until "
                f"{pending.expires_at.isoformat()}; record a new request"
            )
        self._disbursement_approved(
            entry_id=entry_id,
            amount=pending.amount,
            currency=pending.currency,
            value_date=pending.value_date,
            payment_reference=pending.payment_reference,
            requested_by=pending.requested_by,
            reason=check_reason(reason),
            legs=chart.disbursement(self.donor, self.school, pending.amount, pending.currency),
            actor=actor,
            idempotency_key=idempotency_key,
        )
        return pending

    @event("DisbursementApproved")
    def _disbursement_approved(
        self,
        entry_id: str,
        amount: int,
        currency: str,
        value_date: dt.date,
        payment_reference: str,
        requested_by: str,
        reason: str,
        legs: tuple[Leg, ...],
        actor: str,
        idempotency_key: str,
    ) -> None:
        del self.reservations[entry_id]
        self.disbursed += amount
        self.entries[entry_id] = EntryState(
            "disbursement", amount, currency, legs_tuple(legs), value_date=value_date
        )

    def reject_disbursement(
        self, *, entry_id: str, reason: str, actor: str, idempotency_key: str
    ) -> Reservation:
        pending = self.pending_item(entry_id)
        self._disbursement_rejected(
            entry_id=entry_id,
            requested_by=pending.requested_by,
            reason=check_reason(reason),
            actor=actor,
            idempotency_key=idempotency_key,
        )
        return pending

    @event("DisbursementRejected")
    def _disbursement_rejected(
        self, entry_id: str, requested_by: str, reason: str, actor: str, idempotency_key: str
    ) -> None:
        del self.reservations[entry_id]

    def expire_disbursement(
        self, *, entry_id: str, now: dt.datetime, actor: str, idempotency_key: str
    ) -> Reservation:
        pending = self.pending_item(entry_id)
        if _aware(now) <= pending.expires_at:
            raise NotPending(
                f"disbursement {entry_id} is pending until {pending.expires_at.isoformat()}"
            )
        self._disbursement_expired(
            entry_id=entry_id,
            expires_at=pending.expires_at,
            actor=actor,
            idempotency_key=idempotency_key,
        )
        return pending

    @event("DisbursementExpired")
    def _disbursement_expired(
        self, entry_id: str, expires_at: dt.datetime, actor: str, idempotency_key: str
    ) -> None:
        del self.reservations[entry_id]

    # -- reversal -------------------------------------------------------------------

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
        if entry_id in self.reservations:
            raise NotReversible(
                f"entry {entry_id} is a pending disbursement: it posted nothing; reject it instead"
            )
        return super().reverse(
            entry_id=entry_id,
            reversal_entry_id=reversal_entry_id,
            value_date=value_date,
            reason=reason,
            actor=actor,
            idempotency_key=idempotency_key,
            recorded_value_date=recorded_value_date,
        )
