"""API models of fiscal periods: close, reopen, and the list of closed periods."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from contracts.common import Command, Reason, View


class PeriodChange(Command):
    reason: Reason


class PeriodRecorded(View):
    period: str = Field(description="The month (YYYY-MM) or quarter (YYYY-Qn).")
    status: Literal["closed", "open"] = Field(description="The period's state after the change.")
    position: int = Field(description="Position in the event log after which it is in force.")


class ClosedPeriod(View):
    period: str = Field(description="The month (YYYY-MM) or quarter (YYYY-Qn).")
    start: dt.date = Field(description="First day.")
    end: dt.date = Field(description="Last day.")
    closed_by: str = Field(description="Who closed it.")
    closed_at: dt.datetime | None = Field(
        description="When it was closed (UTC); null for closes recorded before times were kept."
    )
    reason: str = Field(description="Why.")


class PeriodAction(View):
    period: str = Field(description="The month or quarter.")
    action: Literal["closed", "reopened"] = Field(description="What was done.")
    by: str = Field(description="Who did it.")
    at: dt.datetime | None = Field(
        description="When (UTC); null for actions recorded before times were kept."
    )
    reason: str = Field(description="Why.")


class Periods(View):
    closed: list[ClosedPeriod] = Field(description="Periods closed now, by start date.")
    history: list[PeriodAction] = Field(description="Every close and reopen, in order.")
    version: int = Field(description="Calendar version; also sent as the ETag (0: none yet).")
