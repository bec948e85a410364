"""Closing and reopening fiscal periods (each its own audited event, with a reason)."""

from __future__ import annotations

from typing import Any

from ledger.application.core import LedgerCore, _read
from ledger.application.unit_of_work import Context, Recorded, UnitOfWork
from ledger.domain.errors import NotFound
from ledger.domain.periods import CALENDAR_ID, FiscalCalendar


class PeriodCommands(LedgerCore):
    def close_period(self, ctx: Context, *, period: str, reason: str) -> Recorded:
        """Close a month or quarter: entries dated in it are refused from now on."""
        return self._change_period(ctx, "close_period", period, reason)

    def reopen_period(self, ctx: Context, *, period: str, reason: str) -> Recorded:
        return self._change_period(ctx, "reopen_period", period, reason)

    def _change_period(self, ctx: Context, command: str, period: str, reason: str) -> Recorded:
        def decide(uow: UnitOfWork) -> dict[str, Any]:
            if uow.exists(CALENDAR_ID):
                calendar = uow.get(FiscalCalendar, CALENDAR_ID, "fiscal calendar", target=True)
            else:
                calendar = FiscalCalendar(**ctx.meta())
            change = calendar.close if command == "close_period" else calendar.reopen
            change(period=period, reason=reason, **ctx.meta())
            uow.add(calendar)
            # Held exclusively until committed: the next command re-reads the calendar.
            self.periods.invalidate()
            status = "closed" if command == "close_period" else "open"
            return {"period": period, "status": status}

        args = {"period": period, "reason": reason}
        return self._run_command(ctx, command, args, decide, close_periods=True)

    def get_calendar(self) -> FiscalCalendar | None:
        try:
            return _read(self, FiscalCalendar, CALENDAR_ID)
        except NotFound:
            return None
