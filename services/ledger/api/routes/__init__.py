"""Thin routes: contract model in, one application call, contract model out."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Path, Response
from pydantic import BaseModel

from contracts.problems import Problem
from ledger.api.recording import BY_TEMPLATE
from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context, Recorded

CodePath = Annotated[
    str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$", description="Stable code of the resource.")
]

PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description}
    for status, description in {
        400: "Missing Idempotency-Key, malformed JSON or header",
        404: "Something named in the request does not exist",
        409: "Refused by a ledger rule, or a version conflict",
        413: "Request body too large",
        422: "Invalid field values, or an Idempotency-Key reused with a different body",
    }.items()
}


def recorded(response: Response, result: Recorded, **extra: Any) -> dict[str, Any]:
    """Mark replays, and merge the command's response with its log position."""
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["X-Log-Position"] = str(result.position)
    if "entry_id" in result.response:
        response.headers["X-Entry-Id"] = str(result.response["entry_id"])
    return {**result.response, "position": result.position, **extra}


def etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


async def record(
    ledger: LedgerApplication,
    ctx: Context,
    template: str,
    body: BaseModel,
    response: Response,
    **params: Any,
) -> Any:
    """Run one recording route: its command goes to the sequencer, and the request waits
    for the commit on the event loop (no worker thread is held while it waits)."""
    recording = BY_TEMPLATE[template]
    future = ledger.submit(ctx, recording.build(params, body))
    waiting = asyncio.wrap_future(future)
    await asyncio.wait([waiting], timeout=ledger.commit_wait_seconds)
    if waiting.done() and not waiting.cancelled():
        waiting.exception()  # retrieved here; settle() raises it
    # settle() raises the refusal, or says whether an unfinished command may still land.
    result = ledger.settle(future, timeout=0, waited=ledger.commit_wait_seconds)
    status, model = recording.respond(result)
    response.status_code = status
    recorded(response, result)
    if recording.location is not None:
        response.headers["Location"] = recording.location.format(**result.response)
    return model
