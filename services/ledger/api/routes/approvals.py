"""Maker-checker: a second person approves or rejects a pending disbursement."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response

from contracts.approvals import DecideDisbursement, DisbursementDecided
from contracts.problems import Problem
from ledger.api.deps import Ctx, Ledger
from ledger.api.routes import PROBLEMS, record

router = APIRouter(
    prefix="/v1",
    tags=["approvals"],
    responses={
        **PROBLEMS,
        403: {"model": Problem, "description": "The maker cannot approve their own request"},
    },
)

EntryId = Annotated[UUID, Path(description="Entry id of the pending disbursement.")]


@router.post("/approvals/{entry_id}/approve", status_code=201, response_model=DisbursementDecided)
async def approve(
    entry_id: EntryId, body: DecideDisbursement, ledger: Ledger, ctx: Ctx, response: Response
) -> DisbursementDecided:
    """Post the pending disbursement's legs (by someone other than its maker)."""
    path = "/v1/approvals/{entry_id}/approve"
    return await record(ledger, ctx, path, body, response, entry_id=entry_id)  # type: ignore[no-any-return]


@router.post("/approvals/{entry_id}/reject", status_code=201, response_model=DisbursementDecided)
async def reject(
    entry_id: EntryId, body: DecideDisbursement, ledger: Ledger, ctx: Ctx, response: Response
) -> DisbursementDecided:
    """Release the reservation; nothing is posted."""
    path = "/v1/approvals/{entry_id}/reject"
    return await record(ledger, ctx, path, body, response, entry_id=entry_id)  # type: ignore[no-any-return]
