"""API models of the read side: balances, summaries, journal, projection status."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from contracts.common import View


class ReadMeta(View):
    position: int = Field(description="Log position the read models reflected when answering.")
    as_of: dt.date | None = Field(description="Value-date cut-off applied, if any.")
    known_at: dt.datetime | None = Field(description="Recorded-at cut-off applied, if any.")


class AccountBalance(View):
    account: str = Field(description="Colon-separated account path.")
    currency: str = Field(description="ISO 4217 code.")
    balance: int = Field(description="Debits minus credits, minor units.")


class AccountBalances(ReadMeta):
    accounts: list[AccountBalance] = Field(description="Balances, ordered by account.")
    next_after: str | None = Field(
        default=None, description="Pass as `after` for the next page; null at end."
    )


class CurrencyTotal(View):
    currency: str = Field(description="ISO 4217 code.")
    debits: int = Field(description="Sum of debit balances, minor units.")
    credits: int = Field(description="Sum of credit balances (negative), minor units.")
    net: int = Field(description="debits + credits; always 0 in a balanced ledger.")


class TrialBalance(ReadMeta):
    totals: list[CurrencyTotal] = Field(description="Per currency; currencies never summed.")
    balanced: bool = Field(description="True when every currency nets to zero.")
    accounts: list[AccountBalance] = Field(
        description="Non-zero account balances, one page of them (totals cover all)."
    )
    next_after: str | None = Field(
        default=None, description="Pass as `after` for the next page of accounts; null at end."
    )


class PendingTotal(View):
    currency: str = Field(description="ISO 4217 code.")
    pending: int = Field(
        description="Reserved by disbursements awaiting approval (committed, not yet paid)."
    )
    items: int = Field(description="How many disbursements await approval.")
    available: int = Field(
        description="Undisbursed commitment not reserved: what a new disbursement may use."
    )


class SchoolFigures(View):
    currency: str = Field(description="ISO 4217 code.")
    committed: int = Field(description="Commitments to the school, net of reductions.")
    received: int = Field(description="Disbursed to the school.")
    outstanding_commitment: int = Field(description="Committed but not yet disbursed.")
    spent: int = Field(description="Total expenditure.")
    spent_by_category: dict[str, int] = Field(description="Expenditure per category.")
    cash_on_hand: int = Field(description="Received minus spent.")
    in_kind_received: int = Field(description="Fair value of in-kind contributions.")
    in_kind_by_kind: dict[str, int] = Field(description="In-kind value per kind.")


class SchoolBalance(ReadMeta):
    code: str = Field(description="School code.")
    name: str = Field(description="School name.")
    school_type: str = Field(description="hub or small.")
    region: str = Field(description="Region slug.")
    district: str = Field(description="District or town.")
    hub: str | None = Field(description="Hub school code, for a small school.")
    figures: list[SchoolFigures] = Field(description="Per currency.")
    pending: list[PendingTotal] = Field(
        description="Disbursements to the school awaiting approval, per currency."
    )


class DonorFigures(View):
    currency: str = Field(description="ISO 4217 code.")
    committed: int = Field(description="Commitments made, net of reductions.")
    disbursed: int = Field(description="Paid out against commitments.")
    undisbursed_commitment: int = Field(description="Committed but not yet paid out.")
    operating_costs_covered: int = Field(description="Operating costs paid.")
    in_kind_given: int = Field(description="Fair value of in-kind contributions.")


class DonorBalance(ReadMeta):
    code: str = Field(description="Donor code.")
    name: str = Field(description="Donor name.")
    schools_funded: int = Field(description="Schools with a standing commitment from the donor.")
    figures: list[DonorFigures] = Field(description="Per currency.")
    pending: list[PendingTotal] = Field(
        description="The donor's disbursements awaiting approval, per currency."
    )


class GroupTotals(View):
    key: str = Field(description="Region or programme code.")
    currency: str = Field(description="ISO 4217 code.")
    committed: int = Field(description="Commitments, net of reductions.")
    disbursed: int = Field(description="Disbursed.")
    spent: int = Field(description="School expenditure.")
    cash_on_hand: int = Field(description="Schools' cash on hand.")
    operating_costs: int = Field(description="Operating costs covered.")
    in_kind: int = Field(description="In-kind value.")
    schools: int = Field(description="Schools counted in the group.")


class GroupBalances(ReadMeta):
    groups: list[GroupTotals] = Field(description="One row per group and currency.")


class Posting(View):
    account: str = Field(description="Account path.")
    amount: int = Field(description="Signed minor units: debit positive, credit negative.")
    currency: str = Field(description="ISO 4217 code.")


class JournalEntry(View):
    entry_id: str = Field(description="Entry id.")
    position: int = Field(description="Log position of the event that recorded it.")
    kind: str = Field(description="commitment, disbursement, reduction, expenditure, ...")
    value_date: dt.date = Field(description="When the money moved.")
    recorded_at: dt.datetime = Field(description="When the ledger learned of it (UTC).")
    actor: str = Field(description="Who recorded it.")
    amount: int = Field(description="Business amount, minor units.")
    currency: str = Field(description="ISO 4217 code.")
    grant_id: str | None = Field(description="Grant, for grant entries.")
    donor: str | None = Field(description="Donor code.")
    school: str | None = Field(description="School code.")
    programme: str | None = Field(description="Programme code.")
    category: str | None = Field(description="Category or in-kind kind.")
    reference: str | None = Field(description="External reference.")
    reason: str | None = Field(description="Reason, for reductions and reversals.")
    reverses: str | None = Field(description="The entry this one reverses.")
    reversed_by: str | None = Field(description="The entry that reversed this one.")
    description: str | None = Field(
        default=None, description="Free text of an expenditure or operating cost."
    )
    valuation_basis: str | None = Field(
        default=None, description="How an in-kind contribution's fair value was determined."
    )
    quantities: dict[str, int] | None = Field(
        default=None, description="Measured quantities of an in-kind contribution."
    )
    requested_by: str | None = Field(
        default=None, description="Who requested a disbursement that needed approval (maker)."
    )
    approved_by: str | None = Field(
        default=None, description="Who approved it (checker); `actor` records the same person."
    )
    from_grant: str | None = Field(
        default=None,
        description="The grant an expenditure or in-kind gift names as where its money came "
        "from (`programme` is then that grant's, or `unattributed`).",
    )
    postings: list[Posting] = Field(description="Balanced legs.")


class JournalPage(ReadMeta):
    entries: list[JournalEntry] = Field(description="Entries in log order.")
    next_after: int | None = Field(description="Pass as `after` for the next page; null at end.")


class CurrencyUnit(View):
    code: str = Field(description="ISO 4217 code.")
    exponent: int = Field(
        description="Minor-unit exponent: an amount of n minor units is n / 10**exponent "
        "major units (KZT: 2, so 25000 tiyn = 250.00 KZT)."
    )


class Currencies(View):
    currencies: list[CurrencyUnit] = Field(description="Every currency the ledger accepts.")


class ProjectionStatus(View):
    name: str = Field(description="Projection name.")
    generation: int = Field(description="Active generation of its tables.")
    position: int = Field(description="Last log position applied.")
    log_head: int = Field(description="Last position in the event log.")
    lag_events: int = Field(description="log_head - position.")
    lag_seconds: float = Field(description="Age of the oldest event not yet applied; 0 if none.")
    role: str = Field(
        description="This process's runner: active (applying), standby (another process "
        "holds the runner lock), or external (not run in this process)."
    )
    last_error: str | None = Field(description="Last error of the in-process runner, if any.")


class ProjectionsStatus(View):
    projections: list[ProjectionStatus] = Field(description="Every projection.")
