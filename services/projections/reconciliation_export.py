"""A reconciliation as a spreadsheet: one row per bank line or ledger entry, CSV or XLSX."""

from __future__ import annotations

import csv
import io
from typing import Any

from contracts.reconciliation import Reconciliation
from projections.exports.journal import neutral_cell

HEADER = [
    "status", "iik", "bank_date", "number", "direction", "bank_amount_minor", "counterparty",
    "entry_id", "kind", "value_date", "ledger_amount_minor", "reference", "explanation",
]  # fmt: skip


def rows(rec: Reconciliation) -> list[list[Any]]:
    out: list[list[Any]] = []
    for item in rec.items:
        b, e = item.bank, item.ledger
        out.append([
            item.status,
            b.iik if b else "", b.date.isoformat() if b else "", b.number or "" if b else "",
            (b.direction if b else e.direction if e else ""), b.amount if b else "",
            (b.counterparty_name or b.counterparty_iik or "") if b else "",
            e.entry_id if e else "", e.kind if e else "",
            e.value_date.isoformat() if e else "", e.amount if e else "",
            (e.reference or "") if e else "", item.explanation or "",
        ])  # fmt: skip
    return out


def as_csv(rec: Reconciliation) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows(rec):
        writer.writerow([neutral_cell(c) for c in row])
    return out.getvalue().encode("utf-8")


def as_xlsx(rec: Reconciliation) -> bytes:
    from openpyxl import Workbook  # imported here: only this export pays for it

    book = Workbook()
    sheet = book.active
    sheet.title = "reconciliation"
    sheet.append(HEADER)
    for row in rows(rec):
        sheet.append(row)
    # Text stays text: a purpose or reference starting with "=" is not a formula.
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    balances = book.create_sheet("balances")
    balances.append(["iik", "date", "kind", "stated", "from_lines", "ledger_cash", "agrees"])
    for b in rec.balances:
        balances.append(
            [b.iik, b.date.isoformat(), b.kind, b.stated, b.from_lines, b.ledger_cash, b.agrees]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
