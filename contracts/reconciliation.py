"""API models for reconciling a school's or donor's bank statements with the ledger."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from contracts.common import Command, IsoDate, Reason, View

MatchStatus = Literal["matched", "amount differs", "only in the bank", "only in the ledger"]


class BankLine(View):
    iik: str = Field(description="The party's account the line is on.")
    key: str = Field(description="The payment's key (its entry's Idempotency-Key if imported).")
    number: str | None = Field(description="Document number.")
    date: dt.date = Field(description="Document date.")
    amount: int = Field(description="Minor units.")
    currency: str = Field(description="ISO 4217 code.")
    direction: Literal["in", "out"] = Field(description="Into or out of the party's account.")
    counterparty_iik: str | None = Field(description="The other side's IIK.")
    counterparty_name: str | None = Field(description="The other side's name.")
    purpose: str | None = Field(description="Payment purpose.")


class LedgerSide(View):
    entry_id: str = Field(description="The journal entry.")
    kind: str = Field(description="disbursement, expenditure or operating-cost.")
    value_date: dt.date = Field(description="Value date.")
    amount: int = Field(description="Minor units.")
    currency: str = Field(description="ISO 4217 code.")
    reference: str | None = Field(description="Payment order or invoice reference.")
    direction: Literal["in", "out"] = Field(description="Into or out of the party's account.")


class ReconciliationItem(View):
    status: MatchStatus = Field(description="How the bank line and the ledger entry compare.")
    bank: BankLine | None = Field(description="The statement line (none: only in the ledger).")
    ledger: LedgerSide | None = Field(description="The entry (none: only in the bank).")
    explanation: str | None = Field(
        default=None,
        description="Only in the bank: why an officer said the line stays so (resolved).",
    )


class ExplainBankLine(Command):
    iik: str = Field(pattern=r"^[A-Z0-9]{20}$", description="The account the line is on.")
    date: IsoDate = Field(description="The line's date (it locates the line's month).")
    key: str = Field(pattern=r"^bank-[0-9a-f]{48}$", description="The line's key.")
    reason: Reason


class LineExplained(View):
    code: str = Field(description="The line's key.")
    position: int = Field(description="Log position of the explanation.")


class BalanceCheck(View):
    iik: str = Field(description="The account.")
    date: dt.date = Field(description="The day the statement states the balance for.")
    kind: Literal["opening", "closing"] = Field(description="Opening or closing balance.")
    stated: int = Field(description="What the statement says, minor units.")
    from_lines: int | None = Field(
        default=None, description="Closing: the opening balance plus the lines since then."
    )
    ledger_cash: int | None = Field(
        default=None, description="Schools: the ledger's cash on that day (the day before, "
        "for an opening balance).",
    )  # fmt: skip
    agrees: bool = Field(description="Whether every figure equals the stated balance.")


class ReconciliationCounts(View):
    matched: int = Field(description="Lines matched to an entry with the same amount.")
    amount_differs: int = Field(description="Lines matched to an entry with another amount.")
    only_in_bank: int = Field(description="Lines with no entry (explained ones included).")
    explained: int = Field(description="Lines only in the bank that an officer explained.")
    only_in_ledger: int = Field(description="Entries with no line.")


class Reconciliation(View):
    party_kind: Literal["school", "donor"] = Field(description="school or donor.")
    party: str = Field(description="The party's code.")
    start: dt.date = Field(description="First day reconciled.")
    end: dt.date = Field(description="Last day reconciled.")
    accounts: list[str] = Field(description="The party's IIKs in the period.")
    position: int = Field(description="Log position the ledger side reflects.")
    counts: ReconciliationCounts = Field(description="How many items ended how.")
    balances: list[BalanceCheck] = Field(description="Stated balances, checked.")
    items: list[ReconciliationItem] = Field(description="Bank lines and entries, paired.")
