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
from projections.exports.source import Snapshot
from projections.figures import Row, SchoolNumbers, donor_numbers, school_numbers
from projections.tables import exact_sum

SCHOOL_COLUMNS = [
    "code", "name", "school_type", "region", "district", "hub", "currency",
    "committed_minor", "received_minor", "outstanding_commitment_minor", "spent_minor",
    "cash_on_hand_minor", "in_kind_received_minor",
]  # fmt: skip

DONOR_COLUMNS = [
    "code", "name", "currency", "committed_minor", "disbursed_minor",
    "undisbursed_commitment_minor", "operating_costs_covered_minor", "in_kind_given_minor",
    "schools_funded",
]  # fmt: skip


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
            rows.append([
                code, school["name"], school["school_type"], school["region"],
                school["district"], school["hub"] or "", currency, n.committed, n.received,
                n.outstanding, n.spent, n.cash, n.in_kind,
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
        for currency, n in donor_numbers(code, groups.get(code, [])).items():
            rows.append([
                code, name, currency, n.committed, n.disbursed, n.undisbursed, n.operating,
                n.in_kind, funded.get(code, 0),
            ])  # fmt: skip
    yield csv_rows(rows)
