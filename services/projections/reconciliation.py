"""Bank against ledger: each statement line of a school's or donor's accounts matched to a
recorded entry, and the stated balances checked against the lines and the ledger's cash.

A line imported from a statement carries the key its entry was recorded under, so most
lines match exactly; a line recorded by hand matches an entry of the same direction by
document number (its reference) and a value date within the tolerance, then by amount
and date alone. What is left is ``only in the bank`` or ``only in the ledger``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.concurrency import run_in_threadpool

from contracts.reconciliation import (
    BalanceCheck,
    BankLine,
    LedgerSide,
    Reconciliation,
    ReconciliationCounts,
    ReconciliationItem,
)
from ledger.domain.chart import school_cash
from ledger.domain.errors import InvalidValue
from projections.service import ReadSide
from projections.tables import Tables

Status = Literal["matched", "amount differs", "only in the bank", "only in the ledger"]

# Statements are reconciled a month, a quarter or a year at a time; a longer span would
# load month after month of lines for one request.
MAX_DAYS = 731

# Which entries move a party's bank account, and which way.
_MOVES = {
    "school": {"disbursement": "in", "expenditure": "out"},
    "donor": {"disbursement": "out", "operating-cost": "out"},
}


@dataclass
class Match:
    status: Status
    line: dict[str, Any] | None = None
    entry: dict[str, Any] | None = None


@dataclass
class BankSide:
    """What statements said about the party's accounts in the period (write side)."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    # (IIK, day, "opening" | "closing") -> minor units
    balances: dict[tuple[str, dt.date, str], int] = field(default_factory=dict)
    # Line key -> why an officer said it stays only in the bank.
    explained: dict[str, str] = field(default_factory=dict)


async def ledger_entries(
    conn: AsyncConnection, t: Tables, party_kind: str, party: str, start: dt.date, end: dt.date
) -> list[dict[str, Any]]:
    e = t.entries
    owner = e.c.school if party_kind == "school" else e.c.donor
    kinds = _MOVES[party_kind]
    stmt = (
        select(e.c.entry_id, e.c.kind, e.c.value_date, e.c.amount, e.c.currency,
               e.c.reference, e.c.idempotency_key, e.c.position)
        .where(owner == party, e.c.kind.in_(tuple(kinds)), e.c.is_reversal.is_(False),
               e.c.reversed_by.is_(None), e.c.value_date >= start, e.c.value_date <= end)
        .order_by(e.c.value_date, e.c.position)
    )  # fmt: skip
    rows = [dict(r) for r in (await conn.execute(stmt)).mappings().all()]
    for row in rows:
        row["direction"] = kinds[row["kind"]]
        row["value_date"] = row["value_date"].isoformat()
    return rows


async def school_cash_on(
    conn: AsyncConnection, t: Tables, school: str, day: dt.date
) -> dict[str, int]:
    """The school's cash per currency as of the end of ``day`` (by value date)."""
    p = t.postings
    stmt = (
        select(p.c.currency, func.sum(p.c.amount))
        .where(and_(p.c.account == school_cash(school), p.c.value_date <= day))
        .group_by(p.c.currency)
    )
    return {cur: int(total) for cur, total in (await conn.execute(stmt)).all()}


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def reconcile(
    lines: list[dict[str, Any]], entries: list[dict[str, Any]], tolerance_days: int = 3
) -> list[Match]:
    """Pair lines with entries: by key, then reference and date, then amount and date."""
    left = list(entries)
    by_key = {e["idempotency_key"]: e for e in left}
    out: list[Match] = []
    unmatched: list[dict[str, Any]] = []
    for line in lines:
        entry = by_key.pop(line["key"], None)
        if entry is None:
            unmatched.append(line)
            continue
        left.remove(entry)
        same = entry["amount"] == line["amount"] and entry["currency"] == line["currency"]
        out.append(Match("matched" if same else "amount differs", line, entry))

    def near(line: dict[str, Any], entry: dict[str, Any]) -> bool:
        days = abs((_date(entry["value_date"]) - _date(line["date"])).days)
        return entry["direction"] == line["direction"] and days <= tolerance_days

    for line in unmatched:
        entry = next(
            (e for e in left if near(line, e) and e["reference"] == line["number"]), None
        ) or next(
            (e for e in left if near(line, e) and e["amount"] == line["amount"]
             and e["currency"] == line["currency"]),
            None,
        )  # fmt: skip
        if entry is None:
            out.append(Match("only in the bank", line=line))
            continue
        left.remove(entry)
        same = entry["amount"] == line["amount"] and entry["currency"] == line["currency"]
        out.append(Match("matched" if same else "amount differs", line, entry))
    out.extend(Match("only in the ledger", entry=e) for e in left)
    return out


def balance_days(bank: BankSide) -> set[dt.date]:
    """The days whose ledger cash the balance checks compare with."""
    return {_before(day) if kind == "opening" else day for (_, day, kind) in bank.balances}


def _before(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=1) if day > dt.date.min else day


def balance_checks(
    bank: BankSide, cash: dict[dt.date, dict[str, int]] | None = None
) -> list[dict[str, Any]]:
    """Each stated balance against the lines (opening + in - out up to the closing day)
    and, for a school, against the ledger's cash on that day."""
    checks = []
    openings = {(iik, day): v for (iik, day, kind), v in bank.balances.items() if kind == "opening"}
    for (iik, day, kind), stated in sorted(bank.balances.items()):
        check: dict[str, Any] = {"iik": iik, "date": day, "kind": kind, "stated": stated}
        if kind == "closing":
            start = max((d for (i, d) in openings if i == iik and d <= day), default=None)
            if start is not None:
                moved = sum(
                    (ln["amount"] if ln["direction"] == "in" else -ln["amount"])
                    for ln in bank.lines
                    if ln["iik"] == iik and start <= _date(ln["date"]) <= day
                )
                check["from_lines"] = openings[iik, start] + moved
        if cash is not None:
            # An opening balance is what was there before its first day. Accounts of the
            # programme are tenge accounts.
            on = _before(day) if kind == "opening" else day
            check["ledger_cash"] = cash.get(on, {}).get("KZT", 0)
        check["agrees"] = all(check.get(k, stated) == stated for k in ("from_lines", "ledger_cash"))
        checks.append(check)
    return checks


# Who the party is and what its statements said: the write side's knowledge, handed in
# by the composition root (the read side never loads aggregates).
BankSideSource = Callable[[str, str, dt.date, dt.date], tuple[list[str], BankSide]]


async def build(
    read_side: ReadSide,
    source: BankSideSource,
    party_kind: str,
    party: str,
    start: dt.date,
    end: dt.date,
    *,
    tolerance_days: int = 3,
    min_position: int | None = None,
) -> Reconciliation:
    if end < start or (end - start).days > MAX_DAYS:
        raise InvalidValue(
            f"from must not be after to, and a reconciliation covers at most {MAX_DAYS} days"
        )
    accounts, bank = await run_in_threadpool(source, party_kind, party, start, end)
    async with read_side.read(min_position) as r:
        entries = await ledger_entries(r.conn, r.tables, party_kind, party, start, end)
        cash = None
        if party_kind == "school":
            cash = {
                day: await school_cash_on(r.conn, r.tables, party, day)
                for day in sorted(balance_days(bank))
            }
    matches = reconcile(bank.lines, entries, tolerance_days)
    by = {s: sum(1 for m in matches if m.status == s) for s in _STATUSES}
    return Reconciliation(
        party_kind="school" if party_kind == "school" else "donor",
        party=party,
        start=start,
        end=end,
        accounts=accounts,
        position=r.position,
        counts=ReconciliationCounts(
            matched=by["matched"],
            amount_differs=by["amount differs"],
            only_in_bank=by["only in the bank"],
            only_in_ledger=by["only in the ledger"],
            explained=sum(
                1 for m in matches if m.line is not None and m.line["key"] in bank.explained
            ),
        ),
        balances=[BalanceCheck(**c) for c in balance_checks(bank, cash)],
        items=[
            ReconciliationItem(
                status=m.status,
                bank=BankLine(**{k: m.line[k] for k in BankLine.model_fields}) if m.line else None,
                ledger=(
                    LedgerSide(**{k: m.entry[k] for k in LedgerSide.model_fields})
                    if m.entry
                    else None
                ),
                explanation=bank.explained.get(m.line["key"]) if m.line else None,
            )
            for m in matches
        ],
    )


_STATUSES: tuple[Status, ...] = (
    "matched",
    "amount differs",
    "only in the bank",
    "only in the ledger",
)
