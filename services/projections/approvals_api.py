"""The approvers' list: disbursements awaiting a second person (and decided ones)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from contracts.approvals import PendingDisbursement, PendingPage
from contracts.problems import Problem
from projections.api import CODE, RS, MinPosition
from projections.pending import pending_page

router = APIRouter(
    prefix="/v1",
    tags=["approvals"],
    responses={
        422: {"model": Problem, "description": "Invalid query parameters"},
        503: {"model": Problem, "description": "Read models behind min_position after waiting"},
    },
)


@router.get("/approvals/pending", response_model=PendingPage)
async def list_pending(
    rs: RS,
    min_position: MinPosition = None,
    status: Annotated[
        Literal["pending", "approved", "rejected", "expired"],
        Query(description="Which items: those waiting (default) or those decided."),
    ] = "pending",
    school: Annotated[str | None, Query(pattern=CODE)] = None,
    donor: Annotated[str | None, Query(pattern=CODE)] = None,
    grant_id: Annotated[
        str | None, Query(pattern=r"^[0-9a-f-]{36}$", description="Only this grant's items.")
    ] = None,
    after: Annotated[int, Query(ge=0, description="Cursor: items after this position.")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PendingPage:
    async with rs.read(min_position) as r:
        rows = await pending_page(
            r.conn, r.tables, status=status, school=school, donor=donor, grant_id=grant_id,
            after=after, limit=limit,
        )  # fmt: skip
    items = [PendingDisbursement.model_validate(_with_utc(row)) for row in rows]
    return PendingPage(
        position=r.position,
        as_of=None,
        known_at=None,
        items=items,
        next_after=items[-1].position if len(items) == limit else None,
    )


def _with_utc(row: dict[str, Any]) -> dict[str, Any]:
    # SQLite hands back naive datetimes; they are UTC.
    return {
        k: v.replace(tzinfo=dt.UTC) if isinstance(v, dt.datetime) and v.tzinfo is None else v
        for k, v in row.items()
        if k != "decided_position"
    }
