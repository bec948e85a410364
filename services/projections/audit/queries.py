"""Audit read-model queries: the feed, history and the chain head."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.envelope import EventRecord, PublicLeg
from projections.audit import tables as at
from projections.moments import db_moment


@dataclass(frozen=True)
class FeedFilter:
    stream: str | None = None
    types: tuple[str, ...] = ()
    recorded_from: dt.datetime | None = None
    recorded_to: dt.datetime | None = None

    def where(self, dialect: str) -> ColumnElement[bool]:
        e = at.events.c
        clauses: list[ColumnElement[bool]] = []
        if self.stream is not None:
            clauses.append(e.stream_id == self.stream)
        if self.types:
            clauses.append(e.type.in_(self.types))
        if self.recorded_from is not None:
            clauses.append(e.recorded_at >= db_moment(self.recorded_from, dialect))
        if self.recorded_to is not None:
            clauses.append(e.recorded_at < db_moment(self.recorded_to, dialect))
        return and_(true(), *clauses)


def record(row: Row[Any]) -> EventRecord:
    m = row._mapping
    recorded_at: dt.datetime = m["recorded_at"]
    if recorded_at.tzinfo is None:
        recorded_at = recorded_at.replace(tzinfo=dt.UTC)
    return EventRecord(
        position=m["position"],
        stream_id=m["stream_id"],
        stream_version=m["stream_version"],
        type=m["type"],
        schema_version=m["schema_version"],
        recorded_at=recorded_at,
        actor=m["actor"],
        idempotency_key=m["idempotency_key"],
        payload=json.loads(m["payload"]),
        legs=[PublicLeg(**leg) for leg in json.loads(m["legs"])],
        hash=m["hash"],
    )


_COLUMNS = [c for c in at.events.c if c.name != "topic"]


async def feed(conn: AsyncConnection, after: int, limit: int, flt: FeedFilter) -> list[EventRecord]:
    stmt = (
        select(*_COLUMNS)
        .where(at.events.c.position > after, flt.where(conn.dialect.name))
        .order_by(at.events.c.position)
        .limit(limit)
    )
    return [record(r) for r in (await conn.execute(stmt)).all()]


async def history(
    conn: AsyncConnection, kind: str, ref: str, after: int, limit: int
) -> list[EventRecord]:
    positions = (
        select(at.refs.c.position)
        .where(at.refs.c.kind == kind, at.refs.c.ref == ref, at.refs.c.position > after)
        .order_by(at.refs.c.position)
        .limit(limit)
        .subquery()
    )
    stmt = (
        select(*_COLUMNS)
        .join(positions, positions.c.position == at.events.c.position)
        .order_by(at.events.c.position)
    )
    return [record(r) for r in (await conn.execute(stmt)).all()]


async def known(conn: AsyncConnection, kind: str, ref: str) -> bool:
    stmt = select(at.refs.c.position).where(at.refs.c.kind == kind, at.refs.c.ref == ref)
    return (await conn.execute(stmt.limit(1))).first() is not None


async def head(conn: AsyncConnection) -> tuple[int, str | None, int]:
    """Newest chained position, its hash, and how many events are chained."""
    e = at.events.c
    newest = select(e.position, e.hash).order_by(e.position.desc()).limit(1)
    top = (await conn.execute(newest)).first()
    count = int((await conn.execute(select(func.count()).select_from(at.events))).scalar_one())
    if top is None:
        return 0, None, 0
    return int(top[0]), str(top[1]), count


async def head_position(conn: AsyncConnection) -> int:
    """Newest chained position (an index lookup; for metrics at every scrape)."""
    top = (await conn.execute(select(func.max(at.events.c.position)))).scalar()
    return int(top or 0)
