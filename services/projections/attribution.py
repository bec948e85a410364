"""Which programme an entry's figures count under: one rule for every programme figure.

A grant may name a programme, and its entries (commitment, disbursements, reductions)
carry it. A school's expenditure or an in-kind gift to a school may name the grant or
programme its money came from: it counts under that programme (a named grant's, or
``unattributed`` if that grant names none); the read side stores it on the entry, so
it is used first, like any named programme. An entry that names neither (nor a
reversal of one) belongs to the programme of the school's grants when they all name
one and the same programme, and to ``unattributed`` otherwise (no grants, grants
without a programme, or grants under several programmes). Operating costs that name
no programme are ``unattributed`` too. No programme may be registered under that code.

The rule is evaluated when a figure is read, over the grants committed within the
same cut (value date, recorded-at, log position) as the postings it attributes: a
school's second grant under another programme moves its unnamed entries to
``unattributed`` at once and everywhere, and a cut before that grant still shows
them under the first programme. Nothing is stored, so a rebuild cannot disagree.
Per-programme totals, ``unattributed`` included, add up to the ledger's totals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.domain.registry import UNATTRIBUTED
from projections.figures import Row
from projections.queries import Cut, programme_balance_rows
from projections.tables import Tables


def _within(table: Any, cut: Cut, at: int | None, dialect: str) -> ColumnElement[bool]:
    clause = cut.where(table, dialect)
    if at is not None:
        clause = and_(clause, table.c.position <= at)
    return and_(true(), clause)


async def school_programmes(
    conn: AsyncConnection, t: Tables, cut: Cut, at: int | None = None
) -> dict[str, str]:
    """School -> the one programme all its grants (within the cut) name; schools
    without such a programme are absent (their unnamed entries are unattributed)."""
    e = t.entries
    stmt = (
        select(e.c.school, e.c.programme)
        .where(e.c.kind == "commitment", _within(e, cut, at, conn.dialect.name))
        .distinct()
    )
    seen: dict[str, set[str | None]] = defaultdict(set)
    for school, programme in (await conn.execute(stmt)).all():
        seen[school].add(programme)
    mapping: dict[str, str] = {}
    for school, programmes in seen.items():
        only = next(iter(programmes)) if len(programmes) == 1 else None
        if only is not None:
            mapping[school] = only
    return mapping


def attributed(programme: str | None, school: str | None, mapping: dict[str, str]) -> str:
    """The programme an entry counts under (its own, else its school's, else none)."""
    if programme is not None:
        return programme
    return mapping.get(school or "", UNATTRIBUTED)


@dataclass
class ProgrammeFigures:
    """Posting sums and school counts per programme code (``unattributed`` included)."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    schools: dict[str, int] = field(default_factory=dict)


async def programme_figures(
    conn: AsyncConnection, t: Tables, cut: Cut, at: int | None = None
) -> ProgrammeFigures:
    """Every posting within the cut, summed per attributed programme.

    A programme's schools are those with a grant under it, those whose spending or gifts
    name it, and those whose unnamed entries it takes; ``unattributed`` counts the schools
    whose entries it takes.
    """
    p, e = t.postings, t.entries
    within = _within(p, cut, at, conn.dialect.name)
    mapping = await school_programmes(conn, t, cut, at)
    sums: dict[str, dict[tuple[str, str, str], int]] = defaultdict(lambda: defaultdict(int))
    if cut.empty and at is None:
        # Today's named part is the running programme balances (no scan of history).
        for programme, rows in (await programme_balance_rows(conn, t)).items():
            for account, kind, currency, amount in rows:
                sums[programme][(account, kind, currency)] += amount
    else:
        named = (
            select(p.c.programme, p.c.account, p.c.kind, p.c.currency, func.sum(p.c.amount))
            .where(p.c.programme.is_not(None), within)
            .group_by(p.c.programme, p.c.account, p.c.kind, p.c.currency)
        )
        for programme, account, kind, currency, amount in (await conn.execute(named)).all():
            sums[programme][(account, kind, currency)] += int(amount)
    unnamed = (
        select(p.c.school, p.c.account, p.c.kind, p.c.currency, func.sum(p.c.amount))
        .where(p.c.programme.is_(None), within)
        .group_by(p.c.school, p.c.account, p.c.kind, p.c.currency)
    )
    members: dict[str, set[str]] = defaultdict(set)
    for school, account, kind, currency, amount in (await conn.execute(unnamed)).all():
        key = attributed(None, school, mapping)
        sums[key][(account, kind, currency)] += int(amount)
        if school is not None:
            members[key].add(school)
    # Grants under the programme, and spending or gifts that name it as their source.
    named = (
        select(e.c.programme, e.c.school)
        .where(
            e.c.kind.in_(("commitment", "expenditure", "in-kind")),
            e.c.programme.is_not(None),
            e.c.school.is_not(None),
            _within(e, cut, at, conn.dialect.name),
        )
        .distinct()
    )
    for programme, school in (await conn.execute(named)).all():
        members[programme].add(school)
    return ProgrammeFigures(
        rows={
            key: [(a, k, c, v) for (a, k, c), v in sorted(group.items())]
            for key, group in sorted(sums.items())
        },
        schools={key: len(codes) for key, codes in members.items()},
    )
