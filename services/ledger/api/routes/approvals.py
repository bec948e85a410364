"""Maker-checker: a second person approves or rejects a pending disbursement."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response

from contracts.approvals import DecideDisbursement, DisbursementDecided
from contracts.problems import Problem
from ledger.api.deps import Ctx, Ledger
from ledger.api.routes import PROBLEMS, recorded

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
def approve(
    entry_id: EntryId, body: DecideDisbursement, ledger: Ledger, ctx: Ctx, response: Response
) -> DisbursementDecided:
    """Post the pending disbursement's legs (by someone other than its maker)."""
    result = ledger.approve_disbursement(ctx, entry_id=entry_id, reason=body.reason)
    return DisbursementDecided(**recorded(response, result))


@router.post("/approvals/{entry_id}/reject", status_code=201, response_model=DisbursementDecided)
def reject(
    entry_id: EntryId, body: DecideDisbursement, ledger: Ledger, ctx: Ctx, response: Response
) -> DisbursementDecided:
    """Release the reservation; nothing is posted."""
    result = ledger.reject_disbursement(ctx, entry_id=entry_id, reason=body.reason)
    return DisbursementDecided(**recorded(response, result))
