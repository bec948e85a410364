"""GET /v1/reconciliation: a school's or donor's bank statements against the ledger."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from contracts.problems import Problem
from contracts.reconciliation import Reconciliation
from projections import reconciliation, reconciliation_export
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


async def _reconciliation(
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
    kind, _, code = party.partition(":")
    source: reconciliation.BankSideSource = request.app.state.bank_side
    return await reconciliation.build(
        rs, source, kind, code, start, end,
        tolerance_days=tolerance_days, min_position=min_position,
    )  # fmt: skip


Built = Annotated[Reconciliation, Depends(_reconciliation)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/reconciliation", response_model=Reconciliation)
async def get_reconciliation(rec: Built) -> Reconciliation:
    """Statement lines matched to entries: matched, amount differs, only in the bank, only
    in the ledger; stated balances checked against the lines and the ledger's cash."""
    return rec


def _file(rec: Reconciliation, ext: str) -> str:
    name = f"reconciliation-{rec.party_kind}-{rec.party}-{rec.start}-{rec.end}.{ext}"
    return f'attachment; filename="{name}"'


@router.get(
    "/reconciliation.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per item."}},
)
async def reconciliation_csv(rec: Built) -> Response:
    """The reconciliation as CSV (formula-like text neutralised)."""
    return Response(
        reconciliation_export.as_csv(rec),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": _file(rec, "csv"), "X-Log-Position": str(rec.position)},
    )


@router.get(
    "/reconciliation.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "Items and balances sheets."}},
)
async def reconciliation_xlsx(rec: Built) -> Response:
    """The reconciliation as a workbook: the items, and the balance checks."""
    data = await run_in_threadpool(reconciliation_export.as_xlsx, rec)
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": _file(rec, "xlsx"), "X-Log-Position": str(rec.position)},
    )
