"""The write side's part of a reconciliation: the party's accounts in the period and what
their statements said, as the read side's reconciliation takes it."""

from __future__ import annotations

import datetime as dt

from ledger.application.app import LedgerApplication
from projections.reconciliation import BankSide


def bank_side(
    ledger: LedgerApplication, party_kind: str, party: str, start: dt.date, end: dt.date
) -> tuple[list[str], BankSide]:
    bank = BankSide()
    accounts: list[str] = []
    for account in ledger.bank_accounts_of(party_kind, party):
        # The days the party held the IIK, within the period.
        held = [
            (max(h.valid_from, start), min(h.valid_to or end, end))
            for h in account.holdings
            if (h.party_kind, h.party) == (party_kind, party)
        ]
        held = [(a, b) for a, b in held if a <= b]
        if not held:
            continue
        accounts.append(account.iik)

        def covered(day: dt.date, spans: list[tuple[dt.date, dt.date]] = held) -> bool:
            return any(a <= day <= b for a, b in spans)

        for month in ledger.bank_months(account.iik, start, end):
            for line in month.lines.values():
                if covered(dt.date.fromisoformat(line["date"])):
                    bank.lines.append({**line, "iik": account.iik})
                    if line["key"] in month.explained:
                        bank.explained[line["key"]] = month.explained[line["key"]]
            for label, amount in month.balances.items():
                day_text, _, kind = label.partition(":")
                day = dt.date.fromisoformat(day_text)
                if covered(day):
                    bank.balances[account.iik, day, kind] = amount
    bank.lines.sort(key=lambda ln: (ln["date"], ln["iik"], ln["number"] or ""))
    return accounts, bank
