"""What the read side takes from each stored event: entry facts and registry rows.

Matching is by event class name, the stable part of a stored event's topic, so the
read side depends on the events' recorded shape, not on the aggregates' code.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

# Events that change no balance and no registry row of the read side.
IGNORED = frozenset(
    {
        "SchoolAccount.Opened",
        "SchoolAccount.FundsReceived",
        "SchoolAccount.FundsWithdrawn",
        "EntryLocator.Registered",
        "IdempotencyClaim.Claimed",
        "FiscalCalendar.Started",
        "FiscalCalendar.PeriodClosed",
        "FiscalCalendar.PeriodReopened",
    }
)

# Decisions on a pending disbursement -> the status each leaves. The events are
# defined by the grant's PendingDisbursements part, hence matched by their own name.
PENDING_PREFIX = "PendingDisbursements."
DECISIONS = {
    PENDING_PREFIX + "DisbursementApproved": "approved",
    PENDING_PREFIX + "DisbursementRejected": "rejected",
    PENDING_PREFIX + "DisbursementExpired": "expired",
}


@dataclass
class EntryFacts:
    entry_id: str
    kind: str
    value_date: dt.date
    recorded_at: dt.datetime
    actor: str
    idempotency_key: str
    legs: list[tuple[str, int, str]]
    amount: int
    grant_id: str | None = None
    donor: str | None = None
    school: str | None = None
    programme: str | None = None
    category: str | None = None
    reference: str | None = None
    reason: str | None = None
    reverses: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        return self.legs[0][2]

    def details_json(self) -> str:
        return json.dumps(self.details, sort_keys=True, separators=(",", ":"))


def event_name(event: object) -> str:
    return type(event).__qualname__


def _legs(event: Any) -> list[tuple[str, int, str]]:
    return [(leg.account, leg.amount, leg.currency) for leg in event.legs]


def _base(event: Any, kind: str, **extra: Any) -> EntryFacts:
    return EntryFacts(
        entry_id=str(event.entry_id),
        kind=kind,
        value_date=event.value_date,
        recorded_at=event.timestamp,
        actor=event.actor,
        idempotency_key=event.idempotency_key,
        legs=_legs(event),
        # The business amount (a disbursement's four legs move it twice); a reversal
        # takes its original's amount when the read side attaches context.
        amount=int(getattr(event, "amount", getattr(event, "fair_value", 0))),
        **extra,
    )


def entry_facts(event: Any) -> EntryFacts | None:
    """The journal entry an event records, or None if it records none."""
    name = event_name(event)
    if name == "Grant.Committed":
        return _base(
            event, "commitment", grant_id=str(event.originator_id), donor=event.donor,
            school=event.school, programme=event.programme, reference=event.reference,
        )  # fmt: skip
    if name == "Grant.Disbursed":
        return _base(
            event, "disbursement", grant_id=str(event.originator_id),
            reference=event.payment_reference,
        )  # fmt: skip
    if name == PENDING_PREFIX + "DisbursementApproved":
        # The entry is the pending one, posted now; the approver records it.
        return _base(
            event, "disbursement", grant_id=str(event.originator_id),
            reference=event.payment_reference, reason=event.reason,
            details={"requested_by": event.requested_by, "approved_by": event.actor},
        )  # fmt: skip
    if name == "Grant.Reduced":
        return _base(event, "reduction", grant_id=str(event.originator_id), reason=event.reason)
    if name == "SchoolAccount.ExpenditureRecorded":
        return _base(
            event, "expenditure", category=event.category, reference=event.reference,
            details={"description": event.description},
        )  # fmt: skip
    if name == "Donor.OperatingCostCovered":
        return _base(
            event, "operating-cost", category=event.category, programme=event.programme,
            reference=event.reference, details={"description": event.description},
        )  # fmt: skip
    if name == "Donor.InKindContributed":
        return _base(
            event, "in-kind", category=event.kind, school=event.school,
            programme=event.programme,
            details={"valuation_basis": event.valuation_basis, "quantities": event.quantities},
        )  # fmt: skip
    if name.endswith(".EntryReversed"):
        facts = _base(event, "reversal", reason=event.reason, reverses=str(event.entry_id))
        facts.entry_id = str(event.reversal_entry_id)
        return facts
    return None


def registry_row(event: Any) -> tuple[str, dict[str, Any]] | None:
    """(table, row) for a registration event, else None."""
    name = event_name(event)
    if name == "Donor.Registered":
        return "donors", {"code": event.code, "name": event.name}
    if name == "Programme.Registered":
        return "programmes", {"code": event.code, "name": event.name}
    if name == "School.Registered":
        return "schools", {
            "code": event.code, "name": event.name, "school_type": event.school_type,
            "region": event.region, "district": event.district, "hub": event.hub_code,
        }  # fmt: skip
    return None


def pending_request(event: Any) -> dict[str, Any] | None:
    """The pending-table row a disbursement request opens (donor/school added later)."""
    if event_name(event) != PENDING_PREFIX + "DisbursementRequested":
        return None
    return {
        "entry_id": str(event.entry_id), "grant_id": str(event.originator_id),
        "currency": event.currency, "amount": event.amount, "value_date": event.value_date,
        "payment_reference": event.payment_reference, "requested_by": event.actor,
        "requested_at": event.timestamp, "expires_at": event.expires_at, "status": "pending",
        "decided_by": None, "decided_at": None, "decision_reason": None,
        "decided_position": None,
    }  # fmt: skip


def pending_decision(event: Any) -> dict[str, Any] | None:
    """How a decision changes a pending row: status, by whom, when, why."""
    status = DECISIONS.get(event_name(event))
    if status is None:
        return None
    return {
        "entry_id": str(event.entry_id), "status": status, "decided_by": event.actor,
        "decided_at": event.timestamp, "decision_reason": getattr(event, "reason", None),
    }  # fmt: skip
