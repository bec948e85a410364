"""Closing and reopening fiscal periods (each its own audited event, with a reason)."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.application.command import Command
from ledger.application.core import LedgerCore, _read
from ledger.application.results import PeriodChanged
from ledger.application.unit_of_work import Context, Recorded, UnitOfWork
from ledger.domain.errors import NotFound
from ledger.domain.periods import CALENDAR_ID, FiscalCalendar


@dataclass(frozen=True)
class _ChangePeriod(Command):
    result_type = PeriodChanged
    close_periods = True

    period: str
    reason: str

    def _calendar(self, uow: UnitOfWork) -> FiscalCalendar:
        if uow.exists(CALENDAR_ID):
            return uow.get(FiscalCalendar, CALENDAR_ID, "fiscal calendar", target=True)
        return FiscalCalendar(**uow.ctx.meta())

    def _changed(self, app: LedgerCore, uow: UnitOfWork, calendar: FiscalCalendar) -> None:
        uow.add(calendar)
        # Held exclusively until committed: the next command re-reads the calendar.
        app.periods.invalidate()


@dataclass(frozen=True)
class ClosePeriod(_ChangePeriod):
    """Close a month or quarter: entries dated in it are refused from now on."""

    command_name = "close_period"

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> PeriodChanged:
        calendar = self._calendar(uow)
        calendar.close(period=self.period, reason=self.reason, **uow.ctx.meta())
        self._changed(app, uow, calendar)
        return PeriodChanged(period=self.period, status="closed")


@dataclass(frozen=True)
class ReopenPeriod(_ChangePeriod):
    command_name = "reopen_period"

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> PeriodChanged:
        calendar = self._calendar(uow)
        calendar.reopen(period=self.period, reason=self.reason, **uow.ctx.meta())
        self._changed(app, uow, calendar)
        return PeriodChanged(period=self.period, status="open")


class PeriodCommands(LedgerCore):
    def close_period(self, ctx: Context, *, period: str, reason: str) -> Recorded:
        """Close a month or quarter: entries dated in it are refused from now on."""
        return self._run_command(ctx, ClosePeriod(period=period, reason=reason))

    def reopen_period(self, ctx: Context, *, period: str, reason: str) -> Recorded:
        return self._run_command(ctx, ReopenPeriod(period=period, reason=reason))

    def get_calendar(self) -> FiscalCalendar | None:
        try:
            return _read(self, FiscalCalendar, CALENDAR_ID)
        except NotFound:
            return None
