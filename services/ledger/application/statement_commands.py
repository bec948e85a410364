"""Keeping what bank statements said: their lines and balances, per account and month."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ledger.application.command import Command
from ledger.application.core import LedgerCore, _read
from ledger.application.results import Registered
from ledger.application.unit_of_work import Context, Recorded, UnitOfWork
from ledger.domain.bank_statements import BankMonth, bank_month_id, month_of
from ledger.domain.banking import normalise_iik
from ledger.domain.errors import NotFound


@dataclass(frozen=True)
class ReceiveBankLines(Command):
    command_name = "receive_bank_lines"
    result_type = Registered

    iik: str
    month: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    balances: dict[str, int] = field(default_factory=dict)
    import_sha256: str = ""

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Registered:
        meta = uow.ctx.meta()
        month_id = bank_month_id(self.iik, self.month)
        if uow.exists(month_id):
            month = uow.get(BankMonth, month_id, "bank month", target=True)
        else:
            month = BankMonth.open(iik=self.iik, month=self.month, **meta)
        month.receive(
            lines=self.lines, balances=self.balances, import_sha256=self.import_sha256, **meta
        )
        uow.add(month)
        return Registered(code=f"{self.iik}:{self.month}")


@dataclass(frozen=True)
class ExplainBankLine(Command):
    """Mark a statement line that is only in the bank with the reason it stays so."""

    command_name = "explain_bank_line"
    result_type = Registered

    iik: str
    date: dt.date
    key: str
    reason: str

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Registered:
        month_id = bank_month_id(normalise_iik(self.iik), month_of(self.date))
        month = uow.get(BankMonth, month_id, f"statement lines of {self.iik}", target=True)
        month.explain(key=self.key, reason=self.reason, **uow.ctx.meta())
        uow.add(month)
        return Registered(code=self.key)


class StatementCommands(LedgerCore):
    def receive_bank_lines(self, ctx: Context, command: ReceiveBankLines) -> Recorded:
        return self._run_command(ctx, command)

    def explain_bank_line(self, ctx: Context, command: ExplainBankLine) -> Recorded:
        return self._run_command(ctx, command)

    def bank_months(self, iik: str, start: dt.date, end: dt.date) -> list[BankMonth]:
        """The months of ``iik`` from ``start`` to ``end`` that statements told about."""
        found = []
        year, month = start.year, start.month
        while (year, month) <= (end.year, end.month):
            with contextlib.suppress(NotFound):
                found.append(_read(self, BankMonth, bank_month_id(iik, f"{year:04d}-{month:02d}")))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found
