"""The four-eyes queue: what waits for a second person, approve or reject with a reason.

The maker sees their own requests; whether they may decide one is the API's to say (it
refuses a maker's own approval), and the page shows that refusal beside the item.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from server.console.client import Api, Problem
from server.console.forms import KEY_FIELD, new_key, text
from server.console.i18n import N_
from server.console.render import page
from server.console.session import PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)

Status = Literal["pending", "approved", "rejected", "expired"]


def _with_age(item: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    requested = dt.datetime.fromisoformat(item["requested_at"])
    if requested.tzinfo is None:
        requested = requested.replace(tzinfo=dt.UTC)
    hours = max(0, int((now - requested).total_seconds() // 3600))
    return {**item, "age_hours": hours, "key": new_key()}


async def _queue(
    request: Request,
    status: Status = "pending",
    refused: tuple[str, Problem] | None = None,
    notice: str | None = None,
) -> Response:
    found = await Api(request).get("/v1/approvals/pending", {"status": status, "limit": 200})
    now = dt.datetime.now(dt.UTC)
    return page(
        request,
        "approvals.html",
        status=refused[1].status if refused else 200,
        items=[_with_age(i, now) for i in found["items"]],
        shown=status,
        refused=refused,
        notice=notice,
    )


@router.get("/approvals")
async def approvals(
    request: Request,
    status: Annotated[Status, Query()] = "pending",
    notice: Annotated[Literal["approved", "rejected"] | None, Query()] = None,
) -> Response:
    return await _queue(request, status, notice=notice)


@router.post("/approvals/{entry_id}")
async def decide(
    request: Request, entry_id: Annotated[UUID, Path(description="Pending entry id.")]
) -> Response:
    form: dict[str, Any] = await request.json()
    decision = text(form, "decision")
    if decision not in ("approve", "reject"):
        choose = Problem(422, "validation-error", N_("Choose approve or reject."), "")
        return await _queue(request, refused=(str(entry_id), choose))
    answer = await Api(request).post(
        f"/v1/approvals/{entry_id}/{decision}",
        {"reason": text(form, "reason")},
        key=text(form, KEY_FIELD) or None,
    )
    if answer.status < 300:
        notice = "approved" if decision == "approve" else "rejected"
        return RedirectResponse(f"{PREFIX}/approvals?notice={notice}", status_code=303)
    refused = Problem.from_body(answer.status, answer.body)
    return await _queue(request, refused=(str(entry_id), refused))
