"""API models for imports of bank statements and payment registers."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from contracts.common import View

LineStatus = Literal["ready", "needs-decision", "not-mapped", "refused", "recorded", "replayed"]


class LineProblem(View):
    line: int = Field(description="Line of the statement (or row of the register).")
    field: str = Field(description="The key or column the problem is about.")
    message: str = Field(description="What is wrong, in words.")


class ImportLine(View):
    line: int = Field(description="Line of the document in the statement, or register row.")
    number: str | None = Field(description="Document or payment-order number.")
    status: LineStatus = Field(
        description="ready: would be recorded; needs-decision: an officer must say which grant "
        "or category; not-mapped: not a payment this ledger imports; refused: a problem below; "
        "recorded / replayed: recorded by this import / recorded before under the same key."
    )
    action: str | None = Field(
        description="disbursement, expenditure, operating-cost or in-kind, when known."
    )
    value_date: dt.date | None = Field(description="When the money moved.")
    amount: int | None = Field(description="Minor units.")
    currency: str | None = Field(description="ISO 4217 code.")
    counterparty: str | None = Field(description="Who paid whom, as far as the ledger knows.")
    path: str | None = Field(description="The recording route the line is sent to.")
    idempotency_key: str | None = Field(
        description="Key from the payment's identity at the bank: the same payment imported "
        "again replays instead of recording twice."
    )
    body: dict[str, Any] | None = Field(description="The request body for that route.")
    result: dict[str, Any] | None = Field(
        default=None, description="After recording: the route's answer (entry, or problem)."
    )
    problems: list[LineProblem] = Field(description="Everything wrong with this line.")


class ImportCounts(View):
    rows: int = Field(description="Documents or rows read.")
    ready: int = Field(description="Would be recorded (dry run) / were sent to be recorded.")
    needs_decision: int = Field(description="Waiting for an officer's decision.")
    not_mapped: int = Field(description="Listed, not imported.")
    refused: int = Field(description="Refused, with problems.")
    recorded: int = Field(description="Recorded by this import.")
    replayed: int = Field(description="Recorded before (same payment), not recorded again.")


class ImportReport(View):
    dry_run: bool = Field(description="True: nothing was recorded.")
    atomic: bool = Field(description="All ready lines or none (false: per-row mode).")
    file_name: str = Field(description="Name of the uploaded file.")
    size: int = Field(description="Bytes.")
    sha256: str = Field(description="SHA-256 of the file (hex).")
    format: str = Field(description="1c-statement, register-xlsx or register-csv.")
    kind: str | None = Field(description="Register kind; null for a statement.")
    encoding: str | None = Field(description="The statement's text encoding.")
    period_start: dt.date | None = Field(description="First day the statement covers.")
    period_end: dt.date | None = Field(description="Last day the statement covers.")
    accounts: list[str] = Field(description="The statement's own IIKs.")
    counts: ImportCounts = Field(description="How many lines ended how.")
    problems: list[LineProblem] = Field(
        description="Problems of the file as a whole (header, balances and totals)."
    )
    lines: list[ImportLine] = Field(description="Every document or row, in file order.")
    import_id: str | None = Field(
        default=None, description="The recorded import (not for a dry run)."
    )
    position: int | None = Field(
        default=None, description="Log position after which the import is visible."
    )
