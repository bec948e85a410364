"""A statement's own arithmetic: balances against totals, totals against its documents.

A statement whose sums do not add up is incomplete or was edited; importing it would
reconcile the ledger against the wrong figures.
"""

from __future__ import annotations

from ledger.imports.onec import Document, Problem, Statement


def totals_problems(statement: Statement) -> list[Problem]:
    """Where an account section's balances disagree with each other or with its documents."""
    found: list[Problem] = []
    for s in statement.sections:
        if None in (s.opening, s.received, s.paid, s.closing):
            continue
        assert s.opening is not None and s.received is not None and s.paid is not None
        if s.opening + s.received - s.paid != s.closing:
            found.append(
                Problem(
                    s.line,
                    "КонечныйОстаток",
                    "opening + received - paid is not the closing balance",
                )
            )
        mine = [d for d in statement.documents if s.account in (d.payer.iik, d.payee.iik)]
        got_in = sum(d.amount or 0 for d in mine if direction_of(d, s.account) == "in")
        got_out = sum(d.amount or 0 for d in mine if direction_of(d, s.account) == "out")
        if got_in != s.received:
            found.append(
                Problem(
                    s.line,
                    "ВсегоПоступило",
                    f"the documents add up to {got_in} minor units received; "
                    f"the section says {s.received}",
                )
            )
        if got_out != s.paid:
            found.append(
                Problem(
                    s.line,
                    "ВсегоСписано",
                    f"the documents add up to {got_out} minor units paid; "
                    f"the section says {s.paid}",
                )
            )
    return found


def direction_of(doc: Document, account: str | None) -> str | None:
    """In or out of ``account``: as the document says, else by which side the account is."""
    if doc.direction is not None:
        return doc.direction
    if account is not None and doc.payee.iik == account:
        return "in"
    if account is not None and doc.payer.iik == account:
        return "out"
    return None
