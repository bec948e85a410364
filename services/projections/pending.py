"""Pending disbursements on the read side: the approvers' list, reserved totals, overdue items."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.balances import PendingTotal
from projections.moments import db_moment
from projections.queries import Cut
from projections.store import ReadStore, active_generation
from projections.tables import Tables, exact_sum, tables_for


def _still_pending(t: Tables, cut: Cut, dialect: str) -> ColumnElement[bool]:
    """Pending now, or (with known_at) pending as the ledger stood then."""
    p = t.pending
    clauses: list[ColumnElement[bool]] = []
    if cut.known_at is None:
        clauses.append(p.c.status == "pending")
    else:
        moment = db_moment(cut.known_at, dialect)
        clauses += [
            p.c.requested_at <= moment,
            or_(p.c.decided_at.is_(None), p.c.decided_at > moment),
        ]
    if cut.as_of is not None:
        clauses.append(p.c.value_date <= cut.as_of)
    return and_(*clauses)


async def pending_totals(
    conn: AsyncConnection, t: Tables, column: str, code: str, cut: Cut
) -> dict[str, tuple[int, int]]:
    """Per currency: (reserved minor units, number of items) for one school or donor."""
    p = t.pending
    stmt = (
        select(p.c.currency, exact_sum(p.c.amount), func.count())
        .where(p.c[column] == code, _still_pending(t, cut, conn.dialect.name))
        .group_by(p.c.currency)
    )
    return {c: (int(s), int(n)) for c, s, n in (await conn.execute(stmt)).all()}


def pending_view(
    totals: dict[str, tuple[int, int]], undisbursed: dict[str, int]
) -> list[PendingTotal]:
    """Reserved vs available, per currency with anything pending."""
    return [
        PendingTotal(
            currency=currency,
            pending=amount,
            items=items,
            available=undisbursed.get(currency, 0) - amount,
        )
        for currency, (amount, items) in sorted(totals.items())
    ]


async def pending_page(
    conn: AsyncConnection,
    t: Tables,
    *,
    status: str,
    school: str | None,
    donor: str | None,
    after: int,
    limit: int,
    grant_id: str | None = None,
) -> list[dict[str, Any]]:
    p = t.pending
    clauses: list[ColumnElement[bool]] = [p.c.status == status, p.c.position > after]
    if school is not None:
        clauses.append(p.c.school == school)
    if donor is not None:
        clauses.append(p.c.donor == donor)
    if grant_id is not None:
        clauses.append(p.c.grant_id == grant_id)
    stmt = select(p).where(*clauses).order_by(p.c.position).limit(limit)
    return [dict(r) for r in (await conn.execute(stmt)).mappings().all()]


def overdue(conn: Connection, t: Tables, now: dt.datetime, limit: int = 100) -> list[str]:
    """Entry ids of pending items past their deadline (the sweeper's work list)."""
    p = t.pending
    stmt = (
        select(p.c.entry_id)
        .where(p.c.status == "pending", p.c.expires_at < db_moment(now, conn.dialect.name))
        .order_by(p.c.expires_at)
        .limit(limit)
    )
    return [str(e) for e in conn.execute(stmt).scalars().all()]


def overdue_in(store: ReadStore, now: dt.datetime) -> list[str]:
    """``overdue`` on the active generation (what the expiry sweeper is handed)."""
    with store.engine.connect() as conn:
        return overdue(conn, tables_for(active_generation(conn)), now)
