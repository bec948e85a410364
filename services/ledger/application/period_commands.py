"""Closing and reopening fiscal periods (each its own audited event, with a reason)."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import AggregateNotFoundError

from ledger.application.core import LedgerCore, _read
from ledger.application.unit_of_work import Context, Recorded, UnitOfWork
from ledger.domain.errors import NotFound
from ledger.domain.periods import CALENDAR_ID, FiscalCalendar


class PeriodCommands(LedgerCore):
    def _calendar(self, uow: UnitOfWork) -> FiscalCalendar:
        if uow.exists(CALENDAR_ID):
            return uow.get(FiscalCalendar, CALENDAR_ID, "fiscal calendar", target=True)
        calendar = FiscalCalendar(**uow.ctx.meta())
        return calendar

    def close_period(self, ctx: Context, *, period: str, reason: str) -> Recorded:
        """Close a month or quarter: entries dated in it are refused from now on."""

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            calendar = self._calendar(uow)
            calendar.close(period=period, reason=reason, **ctx.meta())
            uow.add(calendar)
            # Held exclusively until committed: the next command re-reads the calendar.
            self.periods.invalidate()
            return {"period": period, "status": "closed"}

        args = {"period": period, "reason": reason}
        return self._run_command(ctx, "close_period", args, decide, close_periods=True)

    def reopen_period(self, ctx: Context, *, period: str, reason: str) -> Recorded:
        def decide(uow: UnitOfWork) -> dict[str, Any]:
            calendar = self._calendar(uow)
            calendar.reopen(period=period, reason=reason, **ctx.meta())
            uow.add(calendar)
            self.periods.invalidate()
            return {"period": period, "status": "open"}

        args = {"period": period, "reason": reason}
        return self._run_command(ctx, "reopen_period", args, decide, close_periods=True)

    def get_calendar(self) -> FiscalCalendar | None:
        try:
            return _read(self, FiscalCalendar, CALENDAR_ID)
        except (NotFound, AggregateNotFoundError):
            return None
