"""For auditors: the chain digest, verification against a digest, exports, the event feed."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from server.console.client import Api, Problem
from server.console.forms import text
from server.console.render import page
from server.console.session import PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)

FEED_PAGE = 50
# Console download name -> the API export it is (the API's route decides who may have it).
EXPORTS = {
    "journal.ledger": "/v1/exports/journal",
    "journal.csv": "/v1/exports/journal.csv",
    "schools.csv": "/v1/exports/schools.csv",
    "donors.csv": "/v1/exports/donors.csv",
    "iati.xml": "/v1/exports/iati",
    "360giving.json": "/v1/exports/360giving",
}
ExportName = Literal[
    "journal.ledger", "journal.csv", "schools.csv", "donors.csv", "iati.xml", "360giving.json"
]


async def _audit_page(
    request: Request,
    after: int | None = None,
    report: dict[str, Any] | None = None,
    problem: Problem | None = None,
    sent: dict[str, Any] | None = None,
) -> Response:
    api = Api(request)
    digest, feed = await asyncio.gather(
        api.get("/v1/audit/digest"), api.get("/v1/events", {"after": after, "limit": FEED_PAGE})
    )
    return page(
        request,
        "audit.html",
        status=problem.status if problem is not None and problem.status >= 400 else 200,
        digest=digest,
        events=feed["events"],
        next_after=feed["next_after"],
        exports=list(EXPORTS),
        report=report,
        problem=problem,
        sent=sent or {},
    )


@router.get("/audit")
async def audit(request: Request, after: Annotated[int | None, Query(ge=0)] = None) -> Response:
    return await _audit_page(request, after)


@router.post("/audit/verify")
async def verify(request: Request) -> Response:
    form: dict[str, Any] = await request.json()
    position = text(form, "position")
    body: dict[str, Any] = {
        "algorithm": "sha256-chain-v1",
        "position": int(position) if position.isdigit() and len(position) < 16 else position,
        "hash": text(form, "hash"),
    }
    answer = await Api(request).post("/v1/audit/verify", body)
    if answer.status >= 400:
        return await _audit_page(
            request, problem=Problem.from_body(answer.status, answer.body), sent=form
        )
    return await _audit_page(request, report=answer.body, sent=form)


@router.get("/exports/{name}")
async def download(
    request: Request, name: Annotated[ExportName, Path(description="Export file name.")]
) -> Response:
    """The API's export as a download (read through the API with the person's token)."""
    return Api(request).download(EXPORTS[name], name)
