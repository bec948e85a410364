"""Business gauges for dashboards, recomputed from the read models at every scrape.

Nothing is counted in memory, so the figures survive restarts and agree across
worker processes. Labels are bounded sets: donor, region, programme and currency codes.
Figures come from the running-balances tables (cost per scrape grows with the number
of accounts), except the programmes' share of unnamed entries, which the attribution
rule sums from postings at each scrape (see ``projections.attribution``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import case, func, select

from ledger.domain import chart
from projections.attribution import programme_figures
from projections.figures import group_numbers
from projections.moments import db_moment
from projections.queries import Cut
from projections.service import ReadSide
from projections.tables import exact_sum

MONEY = "minor units of the currency (tiyn for KZT)"


class BusinessGauges:
    def __init__(self, r: CollectorRegistry) -> None:

        def gauge(name: str, what: str, labels: list[str]) -> Gauge:
            # Computed by whichever process is scraped: its latest value wins.
            return Gauge(
                name, f"{what}, in {MONEY}.", labels, registry=r, multiprocess_mode="mostrecent"
            )

        self.donor = {
            figure: gauge(f"ledger_donor_{figure}_minor_units", what, ["donor", "currency"])
            for figure, what in {
                "committed": "Commitments made by the donor, net of reductions",
                "disbursed": "Disbursed by the donor",
                "undisbursed": "Committed by the donor but not yet disbursed",
                "operating_costs": "Operating costs covered by the donor",
                "in_kind": "Fair value of the donor's in-kind contributions",
            }.items()
        }
        self.region = {
            figure: gauge(f"ledger_region_{figure}_minor_units", what, ["region", "currency"])
            for figure, what in {
                "cash_on_hand": "Cash on hand of the region's schools",
                "spent": "Expenditure of the region's schools",
            }.items()
        }
        self.programme = {
            figure: gauge(f"ledger_programme_{figure}_minor_units", what, ["programme", "currency"])
            for figure, what in {
                "committed": "Commitments under the programme, net of reductions",
                "disbursed": "Disbursed under the programme",
                "spent": "School expenditure attributed to the programme",
                "cash_on_hand": "Cash on hand of the programme's schools, as attributed",
                "operating_costs": "Operating costs booked to the programme",
                "in_kind": "In-kind value given to or under the programme",
            }.items()
        }
        self.imbalance = gauge(
            "ledger_trial_balance_imbalance_minor_units",
            "Sum of all account balances per currency; anything but 0 is a defect",
            ["currency"],
        )

        # Four eyes: what waits for an approver. Overdue items that stay above zero mean no
        # sweeper is running (they still hold their reservations until it records expiry).
        count = "ledger_approvals_{}_items"
        self.pending_items = Gauge(
            count.format("pending"), "Disbursements waiting for approval.", ["currency"],
            registry=r, multiprocess_mode="mostrecent",
        )  # fmt: skip
        self.overdue_items = Gauge(
            count.format("overdue"), "Pending disbursements past their deadline.", ["currency"],
            registry=r, multiprocess_mode="mostrecent",
        )  # fmt: skip
        self.pending_amount = gauge(
            "ledger_approvals_pending_minor_units",
            "Amount reserved by disbursements waiting for approval",
            ["currency"],
        )

    async def _refresh_pending(self, rs: ReadSide) -> None:
        async with rs.read() as r:
            p = r.tables.pending
            now = db_moment(dt.datetime.now(dt.UTC), r.conn.dialect.name)
            overdue = func.sum(case((p.c.expires_at < now, 1), else_=0))
            stmt = (
                select(p.c.currency, func.count(), exact_sum(p.c.amount), overdue)
                .where(p.c.status == "pending")
                .group_by(p.c.currency)
            )
            rows = (await r.conn.execute(stmt)).all()
        for g in (self.pending_items, self.overdue_items, self.pending_amount):
            g.clear()
        for currency, items, amount, late in rows:
            self.pending_items.labels(currency).set(int(items))
            self.pending_amount.labels(currency).set(int(amount or 0))
            self.overdue_items.labels(currency).set(int(late or 0))

    async def refresh(self, rs: ReadSide) -> None:
        await self._refresh_pending(rs)
        async with rs.read() as r:
            b, s = r.tables.balances, r.tables.schools
            rows = (await r.conn.execute(select(b.c.account, b.c.currency, b.c.balance))).all()
            schools = (await r.conn.execute(select(s.c.code, s.c.region))).all()
            programmes = (await programme_figures(r.conn, r.tables, Cut())).rows
        regions = {code: region for code, region in schools}
        figures = business_figures([(a, c, int(v)) for a, c, v in rows], regions)
        gauges = (*self.donor.values(), *self.region.values(), *self.programme.values())
        for g in (*gauges, self.imbalance):
            g.clear()  # a label set that no longer exists must not linger
        for programme, group in programmes.items():
            for currency, n in group_numbers(group).items():
                self.programme["committed"].labels(programme, currency).set(n.committed)
                self.programme["disbursed"].labels(programme, currency).set(n.disbursed)
                self.programme["spent"].labels(programme, currency).set(n.spent)
                self.programme["cash_on_hand"].labels(programme, currency).set(n.cash)
                self.programme["operating_costs"].labels(programme, currency).set(n.operating)
                self.programme["in_kind"].labels(programme, currency).set(n.in_kind)
        for (kind, figure, code, currency), value in figures.items():
            if kind == "donor":
                self.donor[figure].labels(code, currency).set(value)
            elif kind == "region":
                self.region[figure].labels(code, currency).set(value)
            else:
                self.imbalance.labels(currency).set(value)


_DONOR_ACCOUNTS = {
    chart.DISBURSED: "disbursed",
    chart.OPERATING: "operating_costs",
    chart.INKIND: "in_kind",
    chart.PLEDGED: "undisbursed",
}
_REGION_ACCOUNTS = {chart.CASH: "cash_on_hand", chart.SPENT: "spent"}


def business_figures(
    rows: list[tuple[str, str, int]], regions: dict[str, str]
) -> dict[tuple[str, str, str, str], int]:
    """(kind, figure, code, currency) -> value, from account balances alone."""
    out: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for account, currency, balance in rows:
        out[("trial", "imbalance", "", currency)] += balance
        name = chart.parse(account)
        if name is None:
            continue
        if name.holder == "donor" and name.bucket in _DONOR_ACCOUNTS:
            # Donor-side accounts hold credits: the figure is the negated balance.
            out[("donor", _DONOR_ACCOUNTS[name.bucket], name.code, currency)] -= balance
        elif name.holder == "school" and name.code in regions and name.bucket in _REGION_ACCOUNTS:
            out[("region", _REGION_ACCOUNTS[name.bucket], regions[name.code], currency)] += balance
    for (kind, figure, code, currency), value in list(out.items()):
        if kind == "donor" and figure in ("disbursed", "undisbursed"):
            out[("donor", "committed", code, currency)] += value
    return dict(out)
