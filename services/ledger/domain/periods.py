"""Fiscal periods: months and quarters that an approver closes, and may reopen.

One calendar aggregate per ledger holds every close and reopen, so "is this value
date in a closed period?" is answered from one consistent version.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.domain.entries import EARLIEST_VALUE_DATE, LATEST_VALUE_DATE, check_reason
from ledger.domain.errors import InvalidValue, PeriodClosed, PeriodState
from ledger.domain.registry import LEDGER_NAMESPACE

PERIOD_PATTERN = r"^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$"
_PERIOD = re.compile(PERIOD_PATTERN)
CALENDAR_ID: UUID = uuid5(LEDGER_NAMESPACE, "fiscal-calendar")


@dataclass(frozen=True)
class Period:
    """A month ("2025-03") or a quarter ("2025-Q1"), with its first and last day."""

    name: str
    start: dt.date
    end: dt.date


def parse_period(name: str) -> Period:
    match = _PERIOD.match(name) if isinstance(name, str) else None
    if match is None:
        raise InvalidValue(f"a period is a month YYYY-MM or a quarter YYYY-Qn, got {name!r}")
    year = int(match.group(1))
    # Checked before building dates: year 0 (or 9999-Q4's following month) is no date at all.
    if not EARLIEST_VALUE_DATE.year <= year <= LATEST_VALUE_DATE.year:
        raise InvalidValue(f"period {name} lies outside the ledger's value dates")
    first_month = int(match.group(2)) if match.group(2) else 3 * int(match.group(3)) - 2
    last_month = first_month if match.group(2) else first_month + 2
    start = dt.date(year, first_month, 1)
    following = dt.date(year + last_month // 12, last_month % 12 + 1, 1)
    period = Period(name, start, following - dt.timedelta(days=1))
    if period.start < EARLIEST_VALUE_DATE or period.end > LATEST_VALUE_DATE:
        raise InvalidValue(f"period {name} lies outside the ledger's value dates")
    return period


class FiscalCalendar(Aggregate):
    @staticmethod
    def create_id(**_: Any) -> UUID:
        return CALENDAR_ID

    @event("Started")
    def __init__(self, actor: str, idempotency_key: str) -> None:
        # period name -> its first and last day, who closed it and why
        self.closed: dict[str, dict[str, Any]] = {}
        self.history: list[dict[str, Any]] = []

    @property
    def modified_on(self) -> dt.datetime:
        return self._modified_on

    @modified_on.setter
    def modified_on(self, value: dt.datetime) -> None:
        # Set by each event as it is applied, right after the method body added its
        # history line: the line takes the event's own recorded time.
        self._modified_on = value
        history = self.__dict__.get("history")
        if history and "at" not in history[-1]:
            history[-1]["at"] = value

    def closed_period_of(self, day: dt.date) -> str | None:
        """The closed period (month or quarter) containing ``day``, if any."""
        for name, info in self.closed.items():
            if info["start"] <= day <= info["end"]:
                return name
        return None

    def check_open(self, day: dt.date, what: str = "an entry") -> None:
        if not isinstance(day, dt.date):
            return  # not a date at all: the entry's own checks refuse it
        name = self.closed_period_of(day)
        if name is not None:
            raise PeriodClosed(
                f"{what} dated {day} falls in the closed period {name}; record it (or its "
                "correction, referencing the original) with a value date in an open period"
            )

    def close(self, *, period: str, reason: str, actor: str, idempotency_key: str) -> None:
        parsed = parse_period(period)
        if parsed.name in self.closed:
            raise PeriodState(f"period {parsed.name} is already closed")
        self._period_closed(
            period=parsed.name,
            start=parsed.start,
            end=parsed.end,
            reason=check_reason(reason),
            actor=actor,
            idempotency_key=idempotency_key,
        )

    @event("PeriodClosed")
    def _period_closed(
        self, period: str, start: dt.date, end: dt.date, reason: str, actor: str,
        idempotency_key: str,
    ) -> None:  # fmt: skip
        self.closed[period] = {"start": start, "end": end, "closed_by": actor, "reason": reason}
        self.history.append({"period": period, "action": "closed", "by": actor, "reason": reason})

    def reopen(self, *, period: str, reason: str, actor: str, idempotency_key: str) -> None:
        parsed = parse_period(period)
        if parsed.name not in self.closed:
            covering = self.closed_period_of(parsed.start) or self.closed_period_of(parsed.end)
            hint = f"; it lies in the closed period {covering}" if covering else ""
            raise PeriodState(f"period {parsed.name} is not closed itself{hint}")
        self._period_reopened(
            period=parsed.name, reason=check_reason(reason), actor=actor,
            idempotency_key=idempotency_key,
        )  # fmt: skip

    @event("PeriodReopened")
    def _period_reopened(self, period: str, reason: str, actor: str, idempotency_key: str) -> None:
        del self.closed[period]
        self.history.append({"period": period, "action": "reopened", "by": actor, "reason": reason})
