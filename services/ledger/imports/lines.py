"""A statement's own lines and balances, per account and month, as the ledger keeps them
to reconcile against later."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ledger.imports.mapping import bank_key
from ledger.imports.onec import Statement
from ledger.imports.totals import direction_of

Month = tuple[str, str]  # (IIK, YYYY-MM)


def statement_months(
    statement: Statement, accounts: set[str]
) -> dict[Month, tuple[list[dict[str, Any]], dict[str, int]]]:
    """The lines of each of ``accounts`` (the statement's own accounts the ledger knows)
    and its stated opening and closing balances, by month."""
    out: dict[Month, tuple[list[dict[str, Any]], dict[str, int]]] = defaultdict(lambda: ([], {}))
    for doc in statement.documents:
        if doc.problems or doc.amount is None or doc.date is None or doc.number is None:
            continue
        for iik in {doc.payer.iik, doc.payee.iik} & accounts:
            assert iik is not None
            direction = direction_of(doc, iik)
            other = doc.payee if direction == "out" else doc.payer
            line = {
                "key": bank_key(doc.payer.iik, doc.number, doc.date, doc.amount, doc.currency),
                "number": doc.number,
                "date": doc.date.isoformat(),
                "amount": doc.amount,
                "currency": doc.currency,
                "direction": direction or "in",
                "counterparty_iik": other.iik,
                "counterparty_name": other.name,
                "knp": doc.knp,
                "purpose": (doc.purpose or "")[:500] or None,
            }
            out[iik, f"{doc.date:%Y-%m}"][0].append(line)
    for s in statement.sections:
        if s.account not in accounts or s.problems:
            continue
        if s.start is not None and s.opening is not None:
            out[s.account, f"{s.start:%Y-%m}"][1][f"{s.start}:opening"] = s.opening
        if s.end is not None and s.closing is not None:
            out[s.account, f"{s.end:%Y-%m}"][1][f"{s.end}:closing"] = s.closing
    return dict(out)
