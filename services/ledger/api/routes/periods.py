"""Fiscal periods: close a month or quarter, reopen it (audited), list them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from contracts.periods import ClosedPeriod, PeriodAction, PeriodChange, PeriodRecorded, Periods
from ledger.api.deps import Ctx, Ledger
from ledger.api.routes import PROBLEMS, etag, record
from ledger.domain.periods import PERIOD_PATTERN

router = APIRouter(prefix="/v1", tags=["periods"], responses=PROBLEMS)

PeriodPath = Annotated[
    str, Path(pattern=PERIOD_PATTERN, description="A month YYYY-MM or a quarter YYYY-Qn.")
]


@router.post("/periods/{period}/close", status_code=201, response_model=PeriodRecorded)
async def close_period(
    period: PeriodPath, body: PeriodChange, ledger: Ledger, ctx: Ctx, response: Response
) -> PeriodRecorded:
    """Entries dated in the period are refused from now on (period-closed)."""
    path = "/v1/periods/{period}/close"
    return await record(ledger, ctx, path, body, response, period=period)  # type: ignore[no-any-return]


@router.post("/periods/{period}/reopen", status_code=201, response_model=PeriodRecorded)
async def reopen_period(
    period: PeriodPath, body: PeriodChange, ledger: Ledger, ctx: Ctx, response: Response
) -> PeriodRecorded:
    """Reopen a closed period: its own event, with a reason."""
    path = "/v1/periods/{period}/reopen"
    return await record(ledger, ctx, path, body, response, period=period)  # type: ignore[no-any-return]


@router.get("/periods", response_model=Periods)
def list_periods(ledger: Ledger, response: Response) -> Periods:
    calendar = ledger.get_calendar()
    version = calendar.version if calendar is not None else 0
    etag(response, version)
    if calendar is None:
        return Periods(closed=[], history=[], version=0)
    history = [PeriodAction(**{"at": None, **h}) for h in calendar.history]
    closed_at = {h.period: h.at for h in history if h.action == "closed"}  # the latest close
    closed = [
        ClosedPeriod(period=name, closed_at=closed_at.get(name), **info)
        for name, info in calendar.closed.items()
    ]
    return Periods(
        closed=sorted(closed, key=lambda c: (c.start, c.end)),
        history=history,
        version=version,
    )
