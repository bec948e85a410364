"""Public event contracts: what the feed, history and exports promise about each event type.

The stored events are private to the write side; these versioned models are the published
shape of their payloads. Each version has a committed JSON Schema in
``contracts/schemas/events/``; ``python -m contracts.events`` regenerates the files and a
test fails when code and committed files drift.
"""

from __future__ import annotations

from contracts.events.envelope import EventPage, EventRecord, PublicLeg
from contracts.events.payloads import CATALOGUE, PublicType, schema_documents
from contracts.events.stored import STORED_TYPES, StoredType

__all__ = [
    "CATALOGUE",
    "STORED_TYPES",
    "EventPage",
    "EventRecord",
    "PublicLeg",
    "PublicType",
    "StoredType",
    "schema_documents",
]
