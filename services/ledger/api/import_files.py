"""An uploaded statement or register: its limits, its reading, and the whole-file refusals."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from contracts.batch import BatchRequest, BatchResult
from ledger.api.auth import Principal
from ledger.application.app import LedgerApplication
from ledger.imports import onec, registers
from ledger.imports.mapping import GrantKey, Line
from ledger.imports.onec import Problem, Statement, StatementError
from ledger.imports.registers import Register, RegisterError
from ledger.imports.totals import totals_problems

GrantFinder = Callable[[set[GrantKey]], Coroutine[Any, Any, dict[GrantKey, list[str]]]]
SyncGrantFinder = Callable[[set[GrantKey]], dict[GrantKey, list[str]]]
Recorder = Callable[[LedgerApplication, Principal, BatchRequest], BatchResult]


@dataclass(frozen=True)
class ImportSettings:
    """What the composition root tells an import: limits, the KNP table, and how to find a
    donor's open grants with a school (the read side's business)."""

    max_bytes: int
    max_rows: int
    knp_categories: dict[str, str]
    open_grants: GrantFinder | None = None


class ImportRefused(Exception):
    """The file as a whole cannot be imported: a problem naming the line, nothing recorded."""

    def __init__(self, status: int, code: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail


@dataclass
class Prepared:
    file_name: str
    size: int
    sha256: str
    source: Statement | Register
    problems: list[Problem] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    @property
    def format(self) -> str:
        return "1c-statement" if isinstance(self.source, Statement) else self.source.format

    @property
    def rows(self) -> int:
        s = self.source
        return len(s.documents) if isinstance(s, Statement) else len(s.rows)


def read_upload(
    file_name: str, data: bytes, *, kind: str | None, max_bytes: int, max_rows: int
) -> Prepared:
    if len(data) > max_bytes:
        raise ImportRefused(
            413, "import-too-large", "File too large",
            f"the file is {len(data)} bytes; imports are limited to {max_bytes} bytes",
        )  # fmt: skip
    if not data.strip():
        raise ImportRefused(422, "malformed-import", "Malformed file", "line 1: the file is empty")
    digest = hashlib.sha256(data).hexdigest()
    source: Statement | Register
    try:
        if data.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(onec.MAGIC.encode()):
            source = onec.parse(data, max_documents=max_rows)
            problems = [*source.problems, *(p for s in source.sections for p in s.problems)]
            problems += totals_problems(source)
        else:
            source = registers.parse(data, kind=kind, max_rows=max_rows)
            problems = list(source.problems)
    except (StatementError, RegisterError) as e:
        too_many = "more than" in e.message and ("rows" in e.message or "documents" in e.message)
        raise ImportRefused(
            413 if too_many else 422,
            "import-too-many-rows" if too_many else "malformed-import",
            "Too many rows" if too_many else "Malformed file",
            f"{file_name}: {e}",
        ) from None
    return Prepared(file_name, len(data), digest, source, problems)
