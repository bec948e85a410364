"""POST /v1/batches: many recording requests in one call (see ledger.api.batches)."""

from __future__ import annotations

from fastapi import APIRouter

from contracts.batch import BatchRequest, BatchResult
from ledger.api.batches import execute_async
from ledger.api.deps import Caller, Ledger
from ledger.api.routes import PROBLEMS

router = APIRouter(prefix="/v1", tags=["batches"], responses=PROBLEMS)


@router.post("/batches", response_model=BatchResult)
async def record_batch(body: BatchRequest, ledger: Ledger, caller: Caller) -> BatchResult:
    """Record up to 1,000 requests to the recording routes in one call.

    Each item is validated, authorized (by its own route's roles) and answered exactly as
    the single request would be; its Idempotency-Key is the same namespace as single
    requests, so retrying a batch replays each recorded item. `atomic: true` records every
    item or none (`refused_item` names the first refusal; the others answer 424).
    """
    return await execute_async(ledger, caller, body)
