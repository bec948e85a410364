"""What the read side takes from each stored event: entry facts and registry rows.

Matching is by event class name, the stable part of a stored event's topic, through the
catalogue of stored types in contracts; the read side depends on the events' recorded
shape, not on the aggregates' code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contracts.events.stored import BY_NAME, STORED_TYPES, StoredType
from ledger.domain.registry import UNATTRIBUTED

# One encoder for every entry's details: json.dumps with options builds a new one per
# call, which was most of the cost of recording an entry row in a rebuild.
_DETAILS = json.JSONEncoder(sort_keys=True, separators=(",", ":"))

# Events that change no balance and no registry row of the read side.
IGNORED = frozenset(
    t.name for t in STORED_TYPES if t.entry is None and t.registry is None and t.pending is None
)


def stored_type(event: object) -> StoredType | None:
    return BY_NAME.get(event_name(event))


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
        return _DETAILS.encode(self.details) if self.details else "{}"


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


def _spent_from(e: Any, details: dict[str, Any]) -> dict[str, Any]:
    """An entry that names where its money came from counts under that programme: the
    one named, or the named grant's (``unattributed`` if the grant has none)."""
    if e.from_grant is None and e.from_programme is None:
        return {"details": details}
    if e.from_grant is not None:
        details = {**details, "from_grant": e.from_grant}
    return {"programme": e.from_programme or UNATTRIBUTED, "details": details}


# The fields each entry-recording type adds to the common ones, by public name.
ENTRY_FIELDS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "grant.committed": lambda e: {
        "grant_id": str(e.originator_id), "donor": e.donor, "school": e.school,
        "programme": e.programme, "reference": e.reference,
    },
    "grant.disbursed": lambda e: {
        "grant_id": str(e.originator_id), "reference": e.payment_reference,
    },
    # The entry is the pending one, posted now; the approver records it.
    "disbursement.approved": lambda e: {
        "grant_id": str(e.originator_id), "reference": e.payment_reference,
        "reason": e.reason, "details": {"requested_by": e.requested_by, "approved_by": e.actor},
    },
    "grant.reduced": lambda e: {"grant_id": str(e.originator_id), "reason": e.reason},
    "expenditure.recorded": lambda e: {
        "category": e.category, "reference": e.reference,
        **_spent_from(e, {"description": e.description}),
    },
    "operating-cost.covered": lambda e: {
        "category": e.category, "programme": e.programme, "reference": e.reference,
        "details": {"description": e.description},
    },
    "in-kind.contributed": lambda e: {
        "category": e.kind, "school": e.school, "programme": e.programme,
        **_spent_from(e, {"valuation_basis": e.valuation_basis, "quantities": e.quantities}),
    },
    "entry.reversed": lambda e: {"reason": e.reason, "reverses": str(e.entry_id)},
}  # fmt: skip

REGISTRY_ROWS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "donors": lambda e: {"code": e.code, "name": e.name},
    "programmes": lambda e: {"code": e.code, "name": e.name},
    "schools": lambda e: {
        "code": e.code, "name": e.name, "school_type": e.school_type,
        "region": e.region, "district": e.district, "hub": e.hub_code,
    },
}  # fmt: skip


def entry_facts(event: Any) -> EntryFacts | None:
    """The journal entry an event records, or None if it records none."""
    stored = stored_type(event)
    if stored is None or stored.entry is None:
        return None
    facts = _base(event, stored.entry, **ENTRY_FIELDS[stored.public](event))
    if stored.entry == "reversal":
        facts.entry_id = str(event.reversal_entry_id)
    return facts


def registry_row(event: Any) -> tuple[str, dict[str, Any]] | None:
    """(table, row) for a registration event, else None."""
    stored = stored_type(event)
    if stored is None or stored.registry is None:
        return None
    return stored.registry, REGISTRY_ROWS[stored.registry](event)


def pending_request(event: Any) -> dict[str, Any] | None:
    """The pending-table row a disbursement request opens (donor/school added later)."""
    stored = stored_type(event)
    if stored is None or stored.pending != "pending":
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
    stored = stored_type(event)
    if stored is None or stored.pending in (None, "pending"):
        return None
    return {
        "entry_id": str(event.entry_id), "status": stored.pending, "decided_by": event.actor,
        "decided_at": event.timestamp, "decision_reason": getattr(event, "reason", None),
    }  # fmt: skip
