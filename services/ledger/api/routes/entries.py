"""Record the financial facts: grants, disbursements, reductions, spending, in kind, reversals."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response

from contracts.approvals import DisbursementPending
from contracts.entries import (
    CancelGrant,
    CommitGrant,
    ContributeInKind,
    CoverOperatingCost,
    Disburse,
    EntryRecorded,
    GrantCommitted,
    GrantEntryRecorded,
    GrantEntryView,
    GrantReduced,
    GrantView,
    RecordExpenditure,
    ReduceGrant,
    ReversalRecorded,
    ReverseEntry,
)
from ledger.api.deps import Ctx, Ledger
from ledger.api.routes import PROBLEMS, CodePath, etag, record

router = APIRouter(prefix="/v1", tags=["entries"], responses=PROBLEMS)

GrantId = Annotated[UUID, Path(description="Grant id.")]
EntryId = Annotated[UUID, Path(description="Journal entry id.")]


@router.post("/grants", status_code=201, response_model=GrantCommitted)
async def commit_grant(
    body: CommitGrant, ledger: Ledger, ctx: Ctx, response: Response
) -> GrantCommitted:
    return await record(ledger, ctx, "/v1/grants", body, response)  # type: ignore[no-any-return]


@router.get("/grants/{grant_id}", response_model=GrantView)
def get_grant(grant_id: GrantId, ledger: Ledger, response: Response) -> GrantView:
    grant = ledger.get_grant(grant_id)
    etag(response, grant.version)
    return GrantView(
        grant_id=str(grant.id),
        donor=grant.donor,
        school=grant.school,
        programme=grant.programme,
        currency=grant.currency,
        committed=grant.committed,
        disbursed=grant.disbursed,
        undisbursed=grant.undisbursed,
        reserved=grant.reserved,
        pending_items=len(grant.reservations),
        available=grant.available,
        entries=[
            GrantEntryView(entry_id=k, kind=e.kind, amount=e.amount, reversed_by=e.reversed_by)
            for k, e in grant.entries.items()
        ],
        version=grant.version,
    )


@router.post(
    "/grants/{grant_id}/disbursements",
    status_code=201,
    response_model=GrantEntryRecorded | DisbursementPending,
    responses={202: {"model": DisbursementPending, "description": "Above the approval "
                     "threshold: reserved, waiting for a second person"}},
)  # fmt: skip
async def disburse(
    grant_id: GrantId, body: Disburse, ledger: Ledger, ctx: Ctx, response: Response
) -> GrantEntryRecorded | DisbursementPending:
    """201: posted. 202: pending approval (see /v1/approvals)."""
    path = "/v1/grants/{grant_id}/disbursements"
    return await record(ledger, ctx, path, body, response, grant_id=grant_id)  # type: ignore[no-any-return]


@router.post("/grants/{grant_id}/reductions", status_code=201, response_model=GrantReduced)
async def reduce_grant(
    grant_id: GrantId, body: ReduceGrant, ledger: Ledger, ctx: Ctx, response: Response
) -> GrantReduced:
    path = "/v1/grants/{grant_id}/reductions"
    return await record(ledger, ctx, path, body, response, grant_id=grant_id)  # type: ignore[no-any-return]


@router.post("/grants/{grant_id}/cancellation", status_code=201, response_model=GrantReduced)
async def cancel_grant(
    grant_id: GrantId, body: CancelGrant, ledger: Ledger, ctx: Ctx, response: Response
) -> GrantReduced:
    """Cancel the whole undisbursed part of a grant (a reduction by all that is left)."""
    path = "/v1/grants/{grant_id}/cancellation"
    return await record(ledger, ctx, path, body, response, grant_id=grant_id)  # type: ignore[no-any-return]


@router.post("/schools/{code}/expenditures", status_code=201, response_model=EntryRecorded)
async def record_expenditure(
    body: RecordExpenditure,
    ledger: Ledger,
    ctx: Ctx,
    response: Response,
    code: CodePath,
) -> EntryRecorded:
    path = "/v1/schools/{code}/expenditures"
    return await record(ledger, ctx, path, body, response, code=code)  # type: ignore[no-any-return]


@router.post("/operating-costs", status_code=201, response_model=EntryRecorded)
async def cover_operating_cost(
    body: CoverOperatingCost, ledger: Ledger, ctx: Ctx, response: Response
) -> EntryRecorded:
    return await record(ledger, ctx, "/v1/operating-costs", body, response)  # type: ignore[no-any-return]


@router.post("/in-kind-contributions", status_code=201, response_model=EntryRecorded)
async def contribute_in_kind(
    body: ContributeInKind, ledger: Ledger, ctx: Ctx, response: Response
) -> EntryRecorded:
    return await record(ledger, ctx, "/v1/in-kind-contributions", body, response)  # type: ignore[no-any-return]


@router.post("/entries/{entry_id}/reversal", status_code=201, response_model=ReversalRecorded)
async def reverse_entry(
    entry_id: EntryId, body: ReverseEntry, ledger: Ledger, ctx: Ctx, response: Response
) -> ReversalRecorded:
    path = "/v1/entries/{entry_id}/reversal"
    return await record(ledger, ctx, path, body, response, entry_id=entry_id)  # type: ignore[no-any-return]
