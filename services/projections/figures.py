"""Turning grouped posting sums into the figures finance officers ask for.

Everything is derived from account balances of DESIGN.md's chart, so the read
side holds one source of truth (postings) and every figure replays from the log.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from contracts.balances import AccountBalance, CurrencyTotal, TrialBalance
from ledger.domain import chart

# (account, kind, currency, sum of amounts)
Row = tuple[str, str, str, int]


@dataclass
class SchoolNumbers:
    committed: int = 0
    received: int = 0
    outstanding: int = 0
    spent_by_category: dict[str, int] = field(default_factory=dict)
    cash: int = 0
    in_kind_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def spent(self) -> int:
        return sum(self.spent_by_category.values())

    @property
    def in_kind(self) -> int:
        return sum(self.in_kind_by_kind.values())


@dataclass
class DonorNumbers:
    disbursed: int = 0
    undisbursed: int = 0
    operating: int = 0
    in_kind: int = 0

    @property
    def committed(self) -> int:
        return self.undisbursed + self.disbursed


def school_numbers(school: str, rows: list[Row]) -> dict[str, SchoolNumbers]:
    by_currency: dict[str, SchoolNumbers] = defaultdict(SchoolNumbers)
    for account, kind, currency, amount in rows:
        n = by_currency[currency]
        name = chart.parse(account)
        if name is None or name.holder != "school" or name.code != school:
            continue
        if name.bucket == chart.RECEIVABLE:
            n.outstanding += amount
        elif name.bucket == chart.CASH:
            n.cash += amount
            if kind == "disbursement":
                n.received += amount
        elif name.bucket == chart.SPENT:
            n.spent_by_category[name.detail] = n.spent_by_category.get(name.detail, 0) + amount
        elif name.bucket == chart.INKIND:
            n.in_kind_by_kind[name.detail] = n.in_kind_by_kind.get(name.detail, 0) + amount
    for n in by_currency.values():
        # Net commitment = what is still owed + what has been paid.
        n.committed = n.outstanding + n.received
        n.spent_by_category = {k: v for k, v in sorted(n.spent_by_category.items()) if v}
        n.in_kind_by_kind = {k: v for k, v in sorted(n.in_kind_by_kind.items()) if v}
    return dict(sorted(by_currency.items()))


def donor_numbers(donor: str, rows: list[Row]) -> dict[str, DonorNumbers]:
    by_currency: dict[str, DonorNumbers] = defaultdict(DonorNumbers)
    # Donor-side accounts carry credits, so figures are the negated balances.
    for account, _, currency, amount in rows:
        n = by_currency[currency]
        name = chart.parse(account)
        if name is None or name.holder != "donor" or name.code != donor:
            continue
        if name.bucket == chart.DISBURSED:
            n.disbursed -= amount
        elif name.bucket == chart.PLEDGED:
            n.undisbursed -= amount
        elif name.bucket == chart.OPERATING:
            n.operating -= amount
        elif name.bucket == chart.INKIND:
            n.in_kind -= amount
    return dict(sorted(by_currency.items()))


@dataclass
class GroupNumbers:
    committed: int = 0
    disbursed: int = 0
    spent: int = 0
    cash: int = 0
    operating: int = 0
    in_kind: int = 0


def group_numbers(rows: list[Row]) -> dict[str, GroupNumbers]:
    """Totals of any group of postings (a region, a programme), per currency."""
    by_currency: dict[str, GroupNumbers] = defaultdict(GroupNumbers)
    for account, kind, currency, amount in rows:
        n = by_currency[currency]
        name = chart.parse(account)
        if name is None:
            continue
        if name.bucket == chart.RECEIVABLE:
            n.committed += amount  # outstanding part; disbursements added below
        elif name.holder == "school" and name.bucket == chart.CASH:
            n.cash += amount
            if kind == "disbursement":
                n.disbursed += amount
        elif name.holder == "school" and name.bucket == chart.SPENT:
            n.spent += amount
        elif name.holder == "operations":
            n.operating += amount
        elif name.holder in ("school", "programme") and name.bucket == chart.INKIND:
            n.in_kind += amount
    for n in by_currency.values():
        n.committed += n.disbursed
    return dict(sorted(by_currency.items()))


def trial_balance_of(
    rows: list[tuple[str, str, int]],
    position: int,
    as_of: dt.date | None = None,
    known_at: dt.datetime | None = None,
) -> TrialBalance:
    """Account balances with debit, credit and net totals per currency (never summed across)."""
    totals: dict[str, CurrencyTotal] = {}
    for _, currency, balance in rows:
        zero = CurrencyTotal(currency=currency, debits=0, credits=0, net=0)
        t = totals.setdefault(currency, zero)
        if balance > 0:
            t.debits += balance
        else:
            t.credits += balance
        t.net += balance
    return TrialBalance(
        position=position,
        as_of=as_of,
        known_at=known_at,
        totals=sorted(totals.values(), key=lambda t: t.currency),
        balanced=all(t.net == 0 for t in totals.values()),
        accounts=[AccountBalance(account=a, currency=cur, balance=b) for a, cur, b in rows if b],
    )
