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
from ledger.api.routes import PROBLEMS, CodePath, etag, recorded
from ledger.application.results import Pending

router = APIRouter(prefix="/v1", tags=["entries"], responses=PROBLEMS)

GrantId = Annotated[UUID, Path(description="Grant id.")]
EntryId = Annotated[UUID, Path(description="Journal entry id.")]


@router.post("/grants", status_code=201, response_model=GrantCommitted)
def commit_grant(body: CommitGrant, ledger: Ledger, ctx: Ctx, response: Response) -> GrantCommitted:
    result = recorded(response, ledger.commit_grant(ctx, **body.model_dump()))
    response.headers["Location"] = f"/v1/grants/{result['grant_id']}"
    return GrantCommitted(**result)


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
def disburse(
    grant_id: GrantId, body: Disburse, ledger: Ledger, ctx: Ctx, response: Response
) -> GrantEntryRecorded | DisbursementPending:
    """201: posted. 202: pending approval (see /v1/approvals)."""
    result = ledger.disburse(ctx, grant_id=grant_id, **body.model_dump())
    if isinstance(result.result, Pending):
        response.status_code = 202
        return DisbursementPending(**recorded(response, result))
    return GrantEntryRecorded(**recorded(response, result))


@router.post("/grants/{grant_id}/reductions", status_code=201, response_model=GrantReduced)
def reduce_grant(
    grant_id: GrantId, body: ReduceGrant, ledger: Ledger, ctx: Ctx, response: Response
) -> GrantReduced:
    result = ledger.reduce_grant(ctx, grant_id=grant_id, **body.model_dump())
    return GrantReduced(**recorded(response, result))


@router.post("/grants/{grant_id}/cancellation", status_code=201, response_model=GrantReduced)
def cancel_grant(
    grant_id: GrantId, body: CancelGrant, ledger: Ledger, ctx: Ctx, response: Response
) -> GrantReduced:
    """Cancel the whole undisbursed part of a grant (a reduction by all that is left)."""
    result = ledger.reduce_grant(ctx, grant_id=grant_id, amount=None, **body.model_dump())
    return GrantReduced(**recorded(response, result))


@router.post("/schools/{code}/expenditures", status_code=201, response_model=EntryRecorded)
def record_expenditure(
    body: RecordExpenditure,
    ledger: Ledger,
    ctx: Ctx,
    response: Response,
    code: CodePath,
) -> EntryRecorded:
    result = ledger.record_expenditure(ctx, school=code, **body.model_dump())
    return EntryRecorded(**recorded(response, result))


@router.post("/operating-costs", status_code=201, response_model=EntryRecorded)
def cover_operating_cost(
    body: CoverOperatingCost, ledger: Ledger, ctx: Ctx, response: Response
) -> EntryRecorded:
    result = ledger.cover_operating_cost(ctx, **body.model_dump())
    return EntryRecorded(**recorded(response, result))


@router.post("/in-kind-contributions", status_code=201, response_model=EntryRecorded)
def contribute_in_kind(
    body: ContributeInKind, ledger: Ledger, ctx: Ctx, response: Response
) -> EntryRecorded:
    args = body.model_dump(exclude={"quantities"})
    quantities = body.quantities.model_dump(exclude_none=True)
    result = ledger.contribute_in_kind(ctx, quantities=quantities, **args)
    return EntryRecorded(**recorded(response, result))


@router.post("/entries/{entry_id}/reversal", status_code=201, response_model=ReversalRecorded)
def reverse_entry(
    entry_id: EntryId, body: ReverseEntry, ledger: Ledger, ctx: Ctx, response: Response
) -> ReversalRecorded:
    result = ledger.reverse_entry(ctx, entry_id=entry_id, **body.model_dump())
    return ReversalRecorded(**recorded(response, result))
