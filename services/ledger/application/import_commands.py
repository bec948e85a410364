"""Recording an import run (the payments it carried are recorded by their own commands)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger.application.command import Command
from ledger.application.core import LedgerCore
from ledger.application.results import ImportRecorded
from ledger.application.unit_of_work import Context, Recorded, UnitOfWork
from ledger.domain.imports import ImportRun


@dataclass(frozen=True)
class RecordImport(Command):
    command_name = "record_import"
    result_type = ImportRecorded

    file_name: str
    sha256: str
    size: int
    format: str
    kind: str | None
    period_start: dt.date | None
    period_end: dt.date | None
    accounts: tuple[str, ...]
    atomic: bool
    rows: int
    recorded: int
    replayed: int
    refused: int
    school: str | None = None
    donor: str | None = None

    def fingerprint_args(self) -> dict[str, object]:
        # The file is the request: a retried upload under the same key is the same import,
        # whatever a second run of it counted (its rows replay).
        return {"file_name": self.file_name, "sha256": self.sha256, "atomic": self.atomic}

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> ImportRecorded:
        facts = self.arguments("accounts")
        run = ImportRun.record(accounts=list(self.accounts), **facts, **uow.ctx.meta())
        uow.add(run)
        return ImportRecorded(import_id=run.import_id)


class ImportCommands(LedgerCore):
    def record_import(self, ctx: Context, command: RecordImport) -> Recorded:
        return self._run_command(ctx, command)
