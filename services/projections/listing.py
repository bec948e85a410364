"""Read-model lists: registry rows and grants, filtered, in pages after a cursor.

Registry lists page by code; grants page by the log position of their commitment.
A grant's figures are summed from its own journal entries (indexed by grant), so a
page costs its grants' entries, never the whole journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.tables import Tables


async def registry_page(
    conn: AsyncConnection,
    table: Table,
    *,
    after: str | None,
    limit: int,
    q: str | None = None,
    equal: dict[str, str | None] | None = None,
) -> list[dict[str, Any]]:
    """Rows ordered by code after ``after``; ``q`` matches code or name (any case)."""
    clauses: list[ColumnElement[bool]] = []
    if after is not None:
        clauses.append(table.c.code > after)
    if q:
        clauses.append(
            or_(
                table.c.code.icontains(q, autoescape=True),
                table.c.name.icontains(q, autoescape=True),
            )
        )
    for column, value in (equal or {}).items():
        if value is not None:
            clauses.append(table.c[column] == value)
    stmt = select(table).where(and_(literal(True), *clauses)).order_by(table.c.code).limit(limit)
    return [dict(r) for r in (await conn.execute(stmt)).mappings().all()]


@dataclass(frozen=True)
class GrantFilter:
    school: str | None = None
    donor: str | None = None
    programme: str | None = None
    status: str | None = None
    after: int = 0
    limit: int = 100


def _grant_figures(t: Tables) -> tuple[Any, Any, Any]:
    """Correlated sums per grant: committed, disbursed, reserved."""
    # Its own alias: the page query joins the entries table for the commitment row.
    g, e, p = t.grants, t.entries.alias("grant_entries"), t.pending
    standing = and_(e.c.grant_id == g.c.grant_id, e.c.reversed_by.is_(None))
    committed = (
        select(
            func.coalesce(
                func.sum(
                    case(
                        (e.c.kind == "commitment", e.c.amount),
                        (e.c.kind == "reduction", -e.c.amount),
                        else_=0,
                    )
                ),
                0,
            )
        )
        .where(standing, e.c.kind.in_(("commitment", "reduction")))
        .correlate(g)
        .scalar_subquery()
    )
    disbursed = (
        select(func.coalesce(func.sum(e.c.amount), 0))
        .where(standing, e.c.kind == "disbursement")
        .correlate(g)
        .scalar_subquery()
    )
    reserved = (
        select(func.coalesce(func.sum(p.c.amount), 0))
        .where(p.c.grant_id == g.c.grant_id, p.c.status == "pending")
        .correlate(g)
        .scalar_subquery()
    )
    return committed, disbursed, reserved


def status_of(committed: int, disbursed: int) -> str:
    if committed == 0:
        return "cancelled"
    return "open" if committed > disbursed else "fully-disbursed"


async def grant_page(conn: AsyncConnection, t: Tables, f: GrantFilter) -> list[dict[str, Any]]:
    g, e = t.grants, t.entries
    committed, disbursed, reserved = _grant_figures(t)
    clauses: list[ColumnElement[bool]] = [e.c.position > f.after]
    for column, value in (
        (g.c.school, f.school),
        (g.c.donor, f.donor),
        (g.c.programme, f.programme),
    ):
        if value is not None:
            clauses.append(column == value)
    if f.status == "cancelled":
        clauses.append(committed == 0)
    elif f.status == "open":
        clauses.append(committed > disbursed)
    elif f.status == "fully-disbursed":
        clauses.append(and_(committed != 0, committed == disbursed))
    stmt = (
        select(
            g,
            e.c.position,
            e.c.value_date,
            e.c.reference,
            committed.label("committed"),
            disbursed.label("disbursed"),
            reserved.label("reserved"),
        )
        # The commitment entry carries the grant's id: its position orders the list.
        .join(e, and_(e.c.grant_id == g.c.grant_id, e.c.kind == "commitment"))
        .where(*clauses)
        .order_by(e.c.position)
        .limit(f.limit)
    )
    rows = []
    for r in (await conn.execute(stmt)).mappings().all():
        row = dict(r)
        row["committed"], row["disbursed"] = int(row["committed"]), int(row["disbursed"])
        row["reserved"] = int(row["reserved"])
        row["undisbursed"] = row["committed"] - row["disbursed"]
        row["available"] = row["undisbursed"] - row["reserved"]
        row["status"] = status_of(row["committed"], row["disbursed"])
        rows.append(row)
    return rows
