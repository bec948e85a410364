"""How domain value types are stored in the event store's JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventsourcing.persistence import Transcoding

from ledger.domain.approvals import Reservation
from ledger.domain.entries import EntryState
from ledger.domain.money import Leg


class DateAsISO(Transcoding):
    type = dt.date
    name = "date_iso"

    def encode(self, obj: dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


class LegAsDict(Transcoding):
    type = Leg
    name = "leg"

    def encode(self, obj: Leg) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> Leg:
        return Leg(str(data["account"]), int(data["amount"]), str(data["currency"]))


class EntryStateAsDict(Transcoding):
    """For snapshots: an aggregate's per-entry bookkeeping."""

    type = EntryState
    name = "entry_state"

    def encode(self, obj: EntryState) -> dict[str, Any]:
        return {
            "kind": obj.kind,
            "amount": obj.amount,
            "currency": obj.currency,
            "legs": list(obj.legs),
            "reversed_by": obj.reversed_by,
            "details": obj.details,
            "value_date": obj.value_date,
        }

    def decode(self, data: dict[str, Any]) -> EntryState:
        return EntryState(
            kind=data["kind"],
            amount=data["amount"],
            currency=data["currency"],
            legs=tuple(data["legs"]),
            reversed_by=data["reversed_by"],
            details=data["details"],
            # Absent from snapshots taken before entry states kept value dates.
            value_date=data.get("value_date"),
        )


class ReservationAsDict(Transcoding):
    """For snapshots: a grant's pending disbursements."""

    type = Reservation
    name = "reservation"

    def encode(self, obj: Reservation) -> dict[str, Any]:
        return {
            "amount": obj.amount,
            "currency": obj.currency,
            "value_date": obj.value_date,
            "payment_reference": obj.payment_reference,
            "requested_by": obj.requested_by,
            "expires_at": obj.expires_at,
        }

    def decode(self, data: dict[str, Any]) -> Reservation:
        return Reservation(**data)
