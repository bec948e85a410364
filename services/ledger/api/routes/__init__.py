"""Thin routes: contract model in, one application call, contract model out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Response

from contracts.problems import Problem
from ledger.application.unit_of_work import Recorded

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
