"""Audit tables. Not generational: the chain is computed once per event and never rebuilt.

``audit_events`` is its own tracking: the newest row is how far the chain has come, and a
batch of rows commits with its refs in one transaction.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

audit_metadata = MetaData()

events = Table(
    "audit_events",
    audit_metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("stream_id", String(36), nullable=False),
    Column("stream_version", BigInteger, nullable=False),
    Column("topic", String(255), nullable=False),
    Column("type", String(64), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64)),
    Column("idempotency_key", String(128)),
    Column("payload", Text, nullable=False),
    Column("legs", Text, nullable=False),
    # Hex SHA-256: the chain value after this event.
    Column("hash", String(64), nullable=False),
    Index("audit_events_stream", "stream_id", "position"),
    Index("audit_events_type", "type", "position"),
    Index("audit_events_recorded_at", "recorded_at"),
)

# Which grant, school, donor, programme or entry each event touched (history queries).
refs = Table(
    "audit_refs",
    audit_metadata,
    Column("kind", String(16), primary_key=True),
    Column("ref", String(64), primary_key=True),
    Column("position", BigInteger, primary_key=True),
)

# What a stream is about, learnt from its first event: later events of a grant or an
# account do not repeat the school and donor they concern.
streams = Table(
    "audit_streams",
    audit_metadata,
    Column("stream_id", String(36), primary_key=True),
    Column("refs", Text, nullable=False),
)
