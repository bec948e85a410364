"""From a stored (private) domain event to its public form, per contracts/events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from contracts.events import CATALOGUE, PublicType
from contracts.events.stored import STORED_TYPES
from ledger.domain.money import Leg

# Stored topic → public type name, from the one catalogue of stored types.
TOPIC_TYPES: dict[str, str] = {t.topic: t.public for t in STORED_TYPES}

# The newest published version of each type: what the feed serves.
CURRENT: dict[str, PublicType] = {}
for _t in CATALOGUE:
    if _t.name not in CURRENT or CURRENT[_t.name].version < _t.version:
        CURRENT[_t.name] = _t

# Part of the envelope, not the payload.
_ENVELOPE = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "actor",
     "idempotency_key", "legs"}
)  # fmt: skip


class UnknownEventType(Exception):
    """A stored topic without a public contract: a code change forgot contracts/events."""


@dataclass(frozen=True)
class PublicForm:
    type: PublicType
    payload: dict[str, Any]
    legs: list[dict[str, Any]]
    actor: str | None
    idempotency_key: str | None


_SCALARS = frozenset({str, int, bool, type(None)})


def _plain(value: Any) -> Any:
    if type(value) in _SCALARS:  # most fields: asked first, the chain of checks below skipped
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def public_form(topic: str, event: Any) -> PublicForm:
    name = TOPIC_TYPES.get(topic)
    if name is None:
        raise UnknownEventType(f"no public contract for stored topic {topic!r}")
    ptype = CURRENT[name]
    state = vars(event)
    raw = {k: _plain(v) for k, v in state.items() if k not in _ENVELOPE}
    # Validation is the contract check: a field the public model lacks fails here. The
    # model's core validator and serializer are what model_validate and model_dump call,
    # without their per-call Python overhead (two thirds of the cost, per event).
    model = ptype.model
    payload = model.__pydantic_serializer__.to_python(
        model.__pydantic_validator__.validate_python(raw), mode="json"
    )
    legs = [leg.as_dict() for leg in state.get("legs", ()) if isinstance(leg, Leg)]
    key = state.get("idempotency_key")
    if name == "idempotency-key.claimed":
        key = state.get("key")  # the claim *is* the key's record
    return PublicForm(ptype, payload, legs, state.get("actor"), key)
