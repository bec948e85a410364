"""Read-model queries (the read side's repository): async, indexed, never a replay."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.domain import chart
from projections.figures import Row
from projections.moments import db_moment
from projections.tables import PROJECTION_NAME, Tables, exact_sum


@dataclass(frozen=True)
class Cut:
    """A point in time: value dates up to ``as_of``, facts recorded up to ``known_at``."""

    as_of: dt.date | None = None
    known_at: dt.datetime | None = None

    def where(self, table: Any, dialect: str) -> ColumnElement[bool]:
        clauses: list[ColumnElement[bool]] = []
        if self.as_of is not None:
            clauses.append(table.c.value_date <= self.as_of)
        if self.known_at is not None:
            clauses.append(table.c.recorded_at <= db_moment(self.known_at, dialect))
        return and_(true(), *clauses)

    @property
    def empty(self) -> bool:
        return self.as_of is None and self.known_at is None


async def position(conn: AsyncConnection, t: Tables) -> int:
    stmt = select(t.tracking.c.position).where(t.tracking.c.projection == PROJECTION_NAME)
    return int((await conn.execute(stmt)).scalar_one())


def _grouped(t: Tables, where: ColumnElement[bool]) -> Select[Any]:
    p = t.postings
    return (
        select(p.c.account, p.c.kind, p.c.currency, exact_sum(p.c.amount))
        .where(where)
        .group_by(p.c.account, p.c.kind, p.c.currency)
    )


async def _rows(conn: AsyncConnection, stmt: Select[Any]) -> list[Row]:
    return [(a, k, c, int(s)) for a, k, c, s in (await conn.execute(stmt)).all()]


async def school_rows(conn: AsyncConnection, t: Tables, school: str, cut: Cut) -> list[Row]:
    where = and_(t.postings.c.school == school, cut.where(t.postings, conn.dialect.name))
    return await _rows(conn, _grouped(t, where))


async def donor_rows(conn: AsyncConnection, t: Tables, donor: str, cut: Cut) -> list[Row]:
    if cut.empty:
        # Today's figures are four running balances: constant cost, however long
        # the donor's history.
        b = t.balances
        accounts = [
            chart.donor_account(donor, chart.DISBURSED), chart.pledged(donor),
            chart.donor_account(donor, chart.OPERATING), chart.donor_account(donor, chart.INKIND),
        ]  # fmt: skip
        stmt = select(b.c.account, b.c.currency, b.c.balance).where(b.c.account.in_(accounts))
        return [(a, "", c, int(v)) for a, c, v in (await conn.execute(stmt)).all()]
    where = and_(t.postings.c.donor == donor, cut.where(t.postings, conn.dialect.name))
    return await _rows(conn, _grouped(t, where))


async def schools_funded(conn: AsyncConnection, t: Tables, donor: str, cut: Cut) -> int:
    p = t.postings
    per_school = (
        select(p.c.school)
        .where(
            p.c.donor == donor,
            p.c.account.startswith(chart.RECEIVABLE_PREFIX),
            p.c.kind.in_(("commitment", "reduction")),
            cut.where(p, conn.dialect.name),
        )
        .group_by(p.c.school)
        .having(func.sum(p.c.amount) > 0)
        .subquery()
    )
    return int((await conn.execute(select(func.count()).select_from(per_school))).scalar_one())


async def group_rows(
    conn: AsyncConnection, t: Tables, column: str, cut: Cut
) -> dict[str, list[Row]]:
    """Posting sums per group value of ``column`` (region or programme)."""
    p = t.postings
    key = p.c[column]
    stmt = (
        select(key, p.c.account, p.c.kind, p.c.currency, exact_sum(p.c.amount))
        .where(key.is_not(None), cut.where(p, conn.dialect.name))
        .group_by(key, p.c.account, p.c.kind, p.c.currency)
    )
    groups: dict[str, list[Row]] = {}
    for g, a, k, c, s in (await conn.execute(stmt)).all():
        groups.setdefault(g, []).append((a, k, c, int(s)))
    return groups


async def programme_balance_rows(conn: AsyncConnection, t: Tables) -> dict[str, list[Row]]:
    """Today's posting sums per programme, from the running programme balances."""
    pb = t.programme_balances
    stmt = select(pb.c.programme, pb.c.account, pb.c.kind, pb.c.currency, pb.c.balance)
    groups: dict[str, list[Row]] = {}
    for g, a, k, c, v in (await conn.execute(stmt)).all():
        groups.setdefault(g, []).append((a, k, c, int(v)))
    return groups


async def school_counts(conn: AsyncConnection, t: Tables) -> dict[str, int]:
    s = t.schools
    stmt = select(s.c.region, func.count()).group_by(s.c.region)
    return {r: int(n) for r, n in (await conn.execute(stmt)).all()}


async def account_balances(
    conn: AsyncConnection, t: Tables, prefix: str | None, cut: Cut
) -> list[tuple[str, str, int]]:
    if cut.empty:
        # The running balances: one indexed row per account, whatever the history length.
        b = t.balances
        stmt = select(b.c.account, b.c.currency, b.c.balance)
        if prefix:
            stmt = stmt.where(b.c.account.startswith(prefix, autoescape=True))
        stmt = stmt.order_by(b.c.account, b.c.currency)
        return [(a, c, int(v)) for a, c, v in (await conn.execute(stmt)).all()]
    p = t.postings
    stmt2 = select(p.c.account, p.c.currency, exact_sum(p.c.amount)).where(
        cut.where(p, conn.dialect.name)
    )
    if prefix:
        stmt2 = stmt2.where(p.c.account.startswith(prefix, autoescape=True))
    stmt2 = stmt2.group_by(p.c.account, p.c.currency).order_by(p.c.account, p.c.currency)
    return [(a, c, int(v)) for a, c, v in (await conn.execute(stmt2)).all()]


async def registry_row(conn: AsyncConnection, table: Any, code: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(table).where(table.c.code == code))).mappings().first()
    return dict(row) if row else None


@dataclass(frozen=True)
class JournalFilter:
    school: str | None = None
    donor: str | None = None
    programme: str | None = None
    grant_id: str | None = None
    account_prefix: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    after: int = 0
    limit: int = 100
    kinds: tuple[str, ...] = ()


async def journal(
    conn: AsyncConnection, t: Tables, f: JournalFilter
) -> list[tuple[dict[str, Any], list[tuple[str, int, str]]]]:
    e, p = t.entries, t.postings
    clauses: list[ColumnElement[bool]] = [e.c.position > f.after]
    for column, value in (
        (e.c.school, f.school),
        (e.c.donor, f.donor),
        (e.c.programme, f.programme),
        (e.c.grant_id, f.grant_id),
    ):
        if value is not None:
            clauses.append(column == value)
    if f.kinds:
        clauses.append(e.c.kind.in_(f.kinds))
    if f.date_from is not None:
        clauses.append(e.c.value_date >= f.date_from)
    if f.date_to is not None:
        clauses.append(e.c.value_date <= f.date_to)
    if f.account_prefix:
        touching = select(p.c.entry_id).where(
            p.c.account.startswith(f.account_prefix, autoescape=True)
        )
        clauses.append(e.c.entry_id.in_(touching))
    stmt = select(e).where(*clauses).order_by(e.c.position, e.c.entry_id).limit(f.limit)
    entries = [dict(r) for r in (await conn.execute(stmt)).mappings().all()]
    if not entries:
        return []
    ids = [x["entry_id"] for x in entries]
    legs: dict[str, list[tuple[str, int, str]]] = {i: [] for i in ids}
    rows = await conn.execute(
        select(p.c.entry_id, p.c.account, p.c.amount, p.c.currency)
        .where(p.c.entry_id.in_(ids))
        .order_by(p.c.id)
    )
    for entry_id, account, amount, currency in rows.all():
        legs[entry_id].append((account, int(amount), currency))
    return [(x, legs[x["entry_id"]]) for x in entries]
