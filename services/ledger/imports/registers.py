"""Payment registers: one row per disbursement, expenditure, operating cost or in-kind
contribution, as XLSX or CSV (UTF-8 with or without BOM, ``;`` or ``,`` separated).

The first non-empty row is the header; its names (Russian, Kazakh or English, see
``columns``) say which kind of register it is unless the caller says so. A file that
cannot be read at all (not UTF-8, not a workbook, a header that fits no kind, too many
rows) is one ``RegisterError`` naming the line; a bad value is a problem of its row only.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ledger.domain.money import ISO_4217_EXPONENTS
from ledger.imports.amounts import ValueProblem, day, minor_units
from ledger.imports.columns import COLUMNS, KINDS, aliases, fold
from ledger.imports.onec import Problem

MAX_COLUMNS = 64
MAX_CELL = 1000


class RegisterError(ValueError):
    """The file cannot be read as a register at all."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass
class Row:
    line: int
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Register:
    kind: str
    format: str  # register-xlsx or register-csv
    columns: list[str]
    rows: list[Row]
    problems: list[Problem] = field(default_factory=list)


def is_xlsx(data: bytes) -> bool:
    return data.startswith(b"PK\x03\x04")


def parse(data: bytes, *, kind: str | None = None, max_rows: int = 100_000) -> Register:
    if kind is not None and kind not in KINDS:
        raise RegisterError(1, f"unknown register kind {kind!r}; known: {', '.join(KINDS)}")
    if is_xlsx(data):
        lines, fmt = _xlsx_rows(data), "register-xlsx"
    else:
        lines, fmt = _csv_rows(data), "register-csv"
    header: tuple[int, list[str]] | None = None
    for n, cells in lines:
        if any(c.strip() for c in cells):
            header = (n, cells)
            break
    if header is None:
        raise RegisterError(1, "the file has no header row")
    at, names = header
    kind, columns, problems = _match_header(at, names, kind)
    rows: list[Row] = []
    for n, cells in lines:
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= max_rows:
            raise RegisterError(n, f"more than {max_rows} rows")
        rows.append(_row(n, kind, columns, cells))
    return Register(kind, fmt, [c for c in columns if c], rows, problems)


def _match_header(
    line: int, names: list[str], kind: str | None
) -> tuple[str, list[str | None], list[Problem]]:
    """The register kind and each cell's column (None: not a column of that kind)."""
    if len(names) > MAX_COLUMNS:
        raise RegisterError(line, f"more than {MAX_COLUMNS} columns")
    candidates = [kind] if kind is not None else list(KINDS)
    best: tuple[int, str, list[str | None]] | None = None
    for k in candidates:
        known = aliases(k)
        columns = [known.get(fold(n)) for n in names]
        required = {c for c, needed in KINDS[k] if needed}
        if not required <= set(columns):
            continue
        score = sum(c is not None for c in columns) - sum(c is None for c in names if c.strip())
        if best is None or score > best[0]:
            best = (score, k, columns)
    if best is None:
        shown = ", ".join(repr(n) for n in names if n.strip())[:300]
        target = f"a {kind} register" if kind else "any register template"
        raise RegisterError(
            line, f"the header row ({shown}) matches no columns of {target}; "
            "download a template from /v1/imports/templates/{kind}.xlsx",
        )  # fmt: skip
    _, k, columns = best
    problems = [
        Problem(line, name, "not a column of this register; ignored")
        for name, column in zip(names, columns, strict=True)
        if column is None and name.strip()
    ]
    seen: set[str] = set()
    for name, column in zip(names, columns, strict=True):
        if column is not None and column in seen:
            raise RegisterError(line, f"two columns are {column} (the second is {name!r})")
        if column is not None:
            seen.add(column)
    return k, columns, problems


def _row(line: int, kind: str, columns: list[str | None], cells: list[str]) -> Row:
    row = Row(line)
    raw = {c: cells[i].strip() for i, c in enumerate(columns) if c and i < len(cells)}
    currency = (raw.get("currency") or "KZT").upper()
    if currency == "398":
        currency = "KZT"
    if currency not in ISO_4217_EXPONENTS:
        row.problems.append(Problem(line, "currency", f"{currency!r} is not an ISO 4217 code"))
        return row
    for name, required in KINDS[kind]:
        text = raw.get(name, "")
        if not text:
            if required:
                row.problems.append(Problem(line, name, "is required"))
            continue
        if len(text) > MAX_CELL:
            row.problems.append(Problem(line, name, f"longer than {MAX_CELL} characters"))
            continue
        try:
            row.values[name] = _convert(COLUMNS[name].kind, text, currency)
        except ValueProblem as e:
            row.problems.append(Problem(line, name, str(e)))
    if (
        kind == "disbursements"
        and not raw.get("grant_id")
        and not (raw.get("donor") and raw.get("school"))
    ):
        row.problems.append(Problem(line, "grant_id", "give the grant id, or donor and school"))
    return row


def _convert(kind: str, text: str, currency: str) -> Any:
    if kind == "amount":
        return minor_units(text, currency)
    if kind == "date":
        return day(text)
    if kind == "count":
        if not text.isdigit():
            raise ValueProblem(f"{text!r} is not a whole number")
        return int(text)
    if kind == "currency":
        return currency
    if kind == "code":
        return text.lower()
    return text


# -- CSV --------------------------------------------------------------------------------


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise RegisterError(
            line, "not UTF-8 text (save the register as CSV UTF-8, or as XLSX)"
        ) from None
    if "\x00" in text:
        raise RegisterError(text[: text.index("\x00")].count("\n") + 1, "a NUL character")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = max((";", ",", "\t"), key=lambda d: _outside_quotes(first, d))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as e:
        raise RegisterError(reader.line_num, f"malformed CSV: {e}") from None


def _outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            count += 1
    return count


# -- XLSX -------------------------------------------------------------------------------


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # imported here: only XLSX uploads pay for it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception:
        # A damaged zip, a zip that is no workbook, or openpyxl's own errors for parts it
        # cannot parse: all of them mean the same thing to the officer.
        raise RegisterError(
            1, "not a readable XLSX workbook (damaged, truncated or not a spreadsheet)"
        ) from None
    try:
        for n, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), 1):
            yield n, [_cell(v) for v in values]
    except Exception:
        raise RegisterError(1, "the workbook's first sheet cannot be read") from None
    finally:
        book.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        # Spreadsheets keep amounts as binary floats; repr is the shortest exact decimal
        # that reads back as the same float, i.e. what the cell shows (1234.56).
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)
