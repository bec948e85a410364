"""Per-school and per-donor balances as CSV, with the balance endpoints' figures.

The figures come from grouped posting sums (bounded by the chart of accounts, not by
the length of history) through the same functions that answer
``/v1/balances/schools/{code}`` and ``/v1/balances/donors/{code}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select

from ledger.domain import chart
from projections.exports.journal import csv_rows
from projections.exports.money import decimal_cell
from projections.exports.source import Snapshot
from projections.figures import (
    DonorNumbers,
    Row,
    SchoolNumbers,
    donor_numbers,
    school_numbers,
)
from projections.tables import exact_sum

# Each figure twice: ``*_minor`` integer minor units (tiyn for KZT) for machines, and the
# same amount in major units of the row's ``currency`` (``250000000.00``) for people.
SCHOOL_FIGURES = [
    "committed", "received", "outstanding_commitment", "spent", "cash_on_hand",
    "in_kind_received",
]  # fmt: skip
DONOR_FIGURES = [
    "committed", "disbursed", "undisbursed_commitment", "operating_costs_covered",
    "in_kind_given",
]  # fmt: skip

SCHOOL_COLUMNS = [
    "code", "name", "school_type", "region", "district", "hub", "currency",
    *(f + "_minor" for f in SCHOOL_FIGURES), *SCHOOL_FIGURES,
]  # fmt: skip

DONOR_COLUMNS = [
    "code", "name", "currency", *(f + "_minor" for f in DONOR_FIGURES), *DONOR_FIGURES,
    "schools_funded",
]  # fmt: skip


def _amounts(values: list[int], currency: str) -> list[Any]:
    return [*values, *(decimal_cell(v, currency) for v in values)]


async def _grouped(snap: Snapshot, column: str) -> dict[str, list[Row]]:
    p = snap.tables.postings
    key = p.c[column]
    stmt = (
        select(key, p.c.account, p.c.kind, p.c.currency, exact_sum(p.c.amount))
        .where(key.is_not(None), snap.posting_filter())
        .group_by(key, p.c.account, p.c.kind, p.c.currency)
    )
    groups: dict[str, list[Row]] = {}
    for g, a, k, c, s in (await snap.conn.execute(stmt)).all():
        groups.setdefault(g, []).append((a, k, c, int(s)))
    return groups


async def schools_csv(snap: Snapshot) -> AsyncIterator[str]:
    yield csv_rows([SCHOOL_COLUMNS])
    groups = await _grouped(snap, "school")
    s = snap.tables.schools
    registry = await snap.conn.execute(select(s).order_by(s.c.code))
    rows: list[list[Any]] = []
    for school in registry.mappings().all():
        code = school["code"]
        figures = school_numbers(code, groups.get(code, []))
        # A school nothing was posted to yet still gets its row (blank currency, zeros):
        # a spreadsheet lists every school in the registry.
        for currency, n in (figures or {"": SchoolNumbers()}).items():
            values = [n.committed, n.received, n.outstanding, n.spent, n.cash, n.in_kind]
            rows.append([
                code, school["name"], school["school_type"], school["region"],
                school["district"], school["hub"] or "", currency, *_amounts(values, currency),
            ])  # fmt: skip
        if len(rows) >= 500:
            yield csv_rows(rows)
            rows = []
    yield csv_rows(rows)


async def _schools_funded(snap: Snapshot) -> dict[str, int]:
    """Schools with a standing commitment from each donor (as the donor endpoint counts)."""
    p = snap.tables.postings
    per_school = (
        select(p.c.donor, p.c.school)
        .where(
            p.c.account.startswith(chart.RECEIVABLE_PREFIX),
            p.c.kind.in_(("commitment", "reduction")),
            snap.posting_filter(),
        )
        .group_by(p.c.donor, p.c.school)
        .having(func.sum(p.c.amount) > 0)
        .subquery()
    )
    stmt = select(per_school.c.donor, func.count()).group_by(per_school.c.donor)
    return {d: int(n) for d, n in (await snap.conn.execute(stmt)).all()}


async def donors_csv(snap: Snapshot) -> AsyncIterator[str]:
    yield csv_rows([DONOR_COLUMNS])
    groups = await _grouped(snap, "donor")
    funded = await _schools_funded(snap)
    d = snap.tables.donors
    registry = await snap.conn.execute(select(d.c.code, d.c.name).order_by(d.c.code))
    rows: list[list[Any]] = []
    for code, name in registry.all():
        figures = donor_numbers(code, groups.get(code, []))
        # As for schools: a registered donor with nothing posted yet still gets its row.
        for currency, n in (figures or {"": DonorNumbers()}).items():
            values = [n.committed, n.disbursed, n.undisbursed, n.operating, n.in_kind]
            rows.append([code, name, currency, *_amounts(values, currency), funded.get(code, 0)])
    yield csv_rows(rows)
