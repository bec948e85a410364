"""Which grant, school, donor, programme and entry an event touched (for history)."""

from __future__ import annotations

from typing import Any

Ref = tuple[str, str]

# Payload fields that name an entity directly.
_DIRECT: tuple[tuple[str, str], ...] = (
    ("entry_id", "entry"),
    ("reversal_entry_id", "entry"),
    ("reverses", "entry"),
    ("school", "school"),
    ("hub_code", "school"),
    ("donor", "donor"),
    ("programme", "programme"),
)


def stream_refs(type_name: str, stream_id: str, payload: dict[str, Any]) -> list[Ref]:
    """What every event of a stream concerns, learnt from the stream's first event."""
    if type_name == "grant.committed":
        out = [("grant", stream_id), ("school", payload["school"]), ("donor", payload["donor"])]
        if payload.get("programme"):
            out.append(("programme", payload["programme"]))
        return out
    if type_name == "school-account.opened":
        return [("school", payload["school"])]
    if type_name == "donor.registered":
        return [("donor", payload["code"])]
    if type_name == "school.registered":
        return [("school", payload["code"])]
    if type_name == "programme.registered":
        return [("programme", payload["code"])]
    return []


def event_refs(payload: dict[str, Any], of_stream: list[Ref]) -> set[Ref]:
    found: set[Ref] = set(of_stream)
    for field, kind in _DIRECT:
        value = payload.get(field)
        if isinstance(value, str) and value:
            found.add((kind, value))
    # A bank account's events name their holder as a kind and a code.
    party_kind, party = payload.get("party_kind"), payload.get("party")
    if party_kind in ("school", "donor") and isinstance(party, str) and party:
        found.add((party_kind, party))
    return found
