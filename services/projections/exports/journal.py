"""The journal as hledger/ledger-cli text and as CSV, one page of entries at a time.

Both tools read the same file and must print the same balances, so the text keeps
to their common subset: ``YYYY-MM-DD * description``, metadata as ``; key: value``
comment lines (hledger tags, ledger metadata), postings as ``account  amount CUR``
with no digit grouping, and a ``commodity`` directive per currency fixing the
display precision to the currency's minor unit.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from sqlalchemy import distinct, select

from projections.exports.money import commodity_amount, decimal_text, exponent
from projections.exports.source import Snapshot, entry_pages, notes, utc_iso

# Characters that mean something in a ledger/hledger line: ';' starts a comment,
# '[...]' in a note is a ledger date, ',' ends an hledger tag value. Metadata values
# are percent-encoded outside a plain set, so an auditor can decode them exactly.
_SAFE_VALUE = "-._~:@/+="
_UNSAFE_TEXT = re.compile(r"[\s;\[\]|]+")


_PLAIN_VALUE = re.compile(r"[A-Za-z0-9._~:@/+=-]*")


def _value(value: object) -> str:
    text = str(value)
    # Most values (ids, positions, keys) are plain: skip quote(), the export's hot spot.
    return text if _PLAIN_VALUE.fullmatch(text) else quote(text, safe=_SAFE_VALUE)


def _text(text: str) -> str:
    return _UNSAFE_TEXT.sub(" ", text).strip()


def description(entry: dict[str, Any]) -> str:
    parts = [entry["kind"]]
    for key in ("donor", "school", "category", "reference"):
        if entry[key]:
            parts.append(str(entry[key]))
    if entry["reason"]:
        parts.append("- " + entry["reason"])
    return _text(" ".join(parts))


def journal_entry(entry: dict[str, Any], legs: list[tuple[str, int, str]]) -> str:
    lines = [f"{entry['value_date'].isoformat()} * {description(entry)}"]
    meta = {
        "entry_id": entry["entry_id"],
        "position": entry["position"],
        "actor": entry["actor"],
        "idempotency_key": entry["idempotency_key"],
        "recorded_at": utc_iso(entry["recorded_at"]),
        "reverses": entry["reverses"],
        "grant_id": entry["grant_id"],
        "reason": entry["reason"],
    }
    extra = notes(entry)
    quantities = extra.pop("quantities") or {}
    meta.update(extra)
    # One tag per quantity: a tag value cannot hold a list (',' would end it).
    meta.update({f"quantity_{k}": v for k, v in sorted(quantities.items())})
    lines += [f"    ; {k}: {_value(v)}" for k, v in meta.items() if v is not None]
    width = max(len(account) for account, _, _ in legs) + 4
    lines += [
        f"    {account:<{width}}{commodity_amount(amount, currency):>24}"
        for account, amount, currency in legs
    ]
    return "\n".join(lines) + "\n\n"


async def journal_text(snap: Snapshot) -> AsyncIterator[str]:
    p = snap.tables.postings
    rows = await snap.conn.execute(
        select(distinct(p.c.currency)).where(p.c.position <= snap.at).order_by(p.c.currency)
    )
    cut = snap.cut
    header = [
        "; Grant ledger journal (hledger / ledger-cli). Amounts in major units, exact from",
        "; integer minor units. Metadata values are percent-encoded outside [A-Za-z0-9-._~:@/+=].",
        f"; position: {snap.at}",
        f"; as_of: {cut.as_of.isoformat() if cut.as_of else '-'}",
        f"; known_at: {cut.known_at.isoformat() if cut.known_at else '-'}",
        "",
    ]
    for (currency,) in rows.all():
        sample = commodity_amount(1000 * 10 ** exponent(currency), currency)
        header += [f"commodity {currency}", f"    format {sample}"]
    yield "\n".join(header) + "\n\n"
    async for page in entry_pages(snap):
        yield "".join(journal_entry(entry, legs) for entry, legs in page)


# ``amount_minor`` is signed integer minor units; ``amount`` the same in major units.
JOURNAL_CSV_COLUMNS = [
    "position", "entry_id", "value_date", "recorded_at", "kind", "account", "currency",
    "amount_minor", "amount", "actor", "idempotency_key", "grant_id", "donor", "school",
    "programme", "category", "reference", "reverses", "reason", "description",
    "valuation_basis", "quantities", "requested_by", "approved_by", "from_grant",
]  # fmt: skip


# A spreadsheet runs a cell that begins with one of these as a formula (=HYPERLINK(...),
# =cmd|...): OWASP's rule is to prefix such text with a single quote, which shows it as
# text. Numbers are left alone: a credit's "-1250.00" is a number, not a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def neutral_cell(cell: Any) -> Any:
    """The cell, or text a spreadsheet will not evaluate as a formula."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def csv_rows(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(
        [neutral_cell(cell) for cell in row] for row in rows
    )
    return out.getvalue()


async def journal_csv(snap: Snapshot) -> AsyncIterator[str]:
    """One row per posting (leg), signed: debits positive, credits negative."""
    yield csv_rows([JOURNAL_CSV_COLUMNS])
    async for page in entry_pages(snap):
        rows: list[list[Any]] = []
        for e, legs in page:
            cells = _notes_cells(e)  # once per entry, not per leg
            rows += [_posting_row(e, leg) + cells for leg in legs]
        yield csv_rows(rows)


def _notes_cells(e: dict[str, Any]) -> list[str]:
    n = notes(e)
    quantities = n["quantities"]
    return [
        e["reason"] or "", n["description"] or "", n["valuation_basis"] or "",
        json.dumps(quantities, sort_keys=True, separators=(",", ":")) if quantities else "",
        n["requested_by"] or "", n["approved_by"] or "", n["from_grant"] or "",
    ]  # fmt: skip


def _posting_row(e: dict[str, Any], leg: tuple[str, int, str]) -> list[Any]:
    account, amount, currency = leg
    return [
        e["position"], e["entry_id"], e["value_date"].isoformat(), utc_iso(e["recorded_at"]),
        e["kind"], account, currency, amount, decimal_text(amount, currency), e["actor"],
        e["idempotency_key"], e["grant_id"] or "", e["donor"] or "", e["school"] or "",
        e["programme"] or "", e["category"] or "", e["reference"] or "", e["reverses"] or "",
    ]  # fmt: skip
