"""GET /v1/reconciliation: a school's or donor's bank statements against the ledger."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request

from contracts.problems import Problem
from contracts.reconciliation import Reconciliation
from projections import reconciliation
from projections.api import RS, MinPosition

router = APIRouter(
    prefix="/v1",
    tags=["reconciliation"],
    responses={
        404: {"model": Problem, "description": "No such school or donor"},
        422: {"model": Problem, "description": "Invalid query parameters"},
    },
)

Party = Annotated[
    str,
    Query(
        pattern=r"^(school|donor):[a-z0-9][a-z0-9-]{1,63}$",
        description="school:<code> or donor:<code>.",
        examples=["school:aktobe-khromtau-hub"],
    ),
]


@router.get("/reconciliation", response_model=Reconciliation)
async def get_reconciliation(
    request: Request,
    rs: RS,
    party: Party,
    start: Annotated[dt.date, Query(alias="from", description="First day (YYYY-MM-DD).")],
    end: Annotated[dt.date, Query(alias="to", description="Last day (YYYY-MM-DD).")],
    tolerance_days: Annotated[
        int, Query(ge=0, le=31, description="Days a value date may differ from the bank's.")
    ] = 3,
    min_position: MinPosition = None,
) -> Reconciliation:
    """Statement lines matched to entries: matched, amount differs, only in the bank, only
    in the ledger; stated balances checked against the lines and the ledger's cash."""
    kind, _, code = party.partition(":")
    source: reconciliation.BankSideSource = request.app.state.bank_side
    return await reconciliation.build(
        rs, source, kind, code, start, end,
        tolerance_days=tolerance_days, min_position=min_position,
    )  # fmt: skip
