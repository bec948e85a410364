"""Realistic payment registers for the tests: CSV and XLSX, in three languages."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from typing import Any

from ledger.imports.columns import KINDS, header_row


def expenditure_rows(n: int, school: str = "khromtau-hub", seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append(
            {
                "school": school,
                "amount": rng.randrange(1_00, 500_000_00),
                "category": rng.choice(("equipment", "connectivity", "furniture")),
                "value_date": dt.date(2025, 3, 1) + dt.timedelta(days=i % 28),
                "reference": f"СФ-{i:05d}",
                "description": f'Парта "Жабдық" №{i}; саны=30, ҚҚС жоқ',
                "currency": "KZT",
            }
        )
    return rows


def _amount(minor: int, comma: bool) -> str:
    major, rest = divmod(minor, 100)
    grouped = f"{major:,}".replace(",", "\u00a0")
    return f"{grouped}{',' if comma else '.'}{rest:02d}"


def cells(kind: str, row: dict[str, Any], *, comma: bool = True) -> list[str]:
    out = []
    for name, _ in KINDS[kind]:
        value = row.get(name)
        if value is None:
            out.append("")
        elif name in ("amount", "fair_value"):
            out.append(_amount(value, comma))
        elif isinstance(value, dt.date):
            out.append(f"{value:%d.%m.%Y}")
        else:
            out.append(str(value))
    return out


def register_csv(
    kind: str,
    rows: list[dict[str, Any]],
    *,
    lang: str = "ru",
    delimiter: str = ";",
    bom: bool = True,
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header_row(kind, lang))
    for row in rows:
        writer.writerow(cells(kind, row, comma=True))
    data = out.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def register_xlsx(kind: str, rows: list[dict[str, Any]], *, lang: str = "kk") -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(header_row(kind, lang))
    for row in rows:
        values: list[Any] = []
        for name, _ in KINDS[kind]:
            value = row.get(name)
            if name in ("amount", "fair_value") and value is not None:
                values.append(value / 100)  # as a spreadsheet keeps it: a number
            else:
                values.append(value)
        sheet.append(values)
    for r in sheet.iter_rows(min_row=2):
        for cell in r:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
