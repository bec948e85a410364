"""Register templates to download: the header of a kind of register and one example row."""

from __future__ import annotations

import csv
import io

from ledger.imports.columns import COLUMNS, KINDS, header_row

LANGS = ("en", "ru", "kk")


def example_row(kind: str) -> list[str]:
    # An in-kind contribution goes to a school or a programme, not both.
    blank = {"programme"} if kind == "in-kind" else set()
    return ["" if name in blank else COLUMNS[name].example for name, _ in KINDS[kind]]


def template_csv(kind: str, lang: str = "en") -> bytes:
    """UTF-8 with a BOM and ``;`` separators: what spreadsheet programs in the region open."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header_row(kind, lang))
    writer.writerow(example_row(kind))
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def template_xlsx(kind: str, lang: str = "en") -> bytes:
    from openpyxl import Workbook  # imported here: only template downloads pay for it

    book = Workbook()
    sheet = book.active
    sheet.title = kind
    sheet.append(header_row(kind, lang))
    sheet.append(example_row(kind))
    # Every cell is text: an example like "=" or "15.03.2025" is not a formula or a number.
    for row in sheet.iter_rows():
        for cell in row:
            cell.data_type = "s"
            cell.number_format = "@"
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 24
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
