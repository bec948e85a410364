"""Grants: the list, a grant's page, and recording a disbursement against it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from server.console.client import Api
from server.console.forms import FormState, amounts, submit, text
from server.console.render import page
from server.console.session import PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)

PAGE_SIZE = 50
GrantId = Annotated[UUID, Path(description="Grant id.")]
CodeQ = Annotated[str | None, Query(max_length=64)]


@router.get("/grants")
async def grants(
    request: Request,
    status: Annotated[Literal["open", "fully-disbursed", "cancelled"] | None, Query()] = None,
    donor: CodeQ = None,
    school: CodeQ = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    chosen = {"status": status, "donor": donor, "school": school}
    params = {k: v for k, v in chosen.items() if v}
    api = Api(request)
    found, donors = await asyncio.gather(
        api.get("/v1/grants", {**params, "limit": PAGE_SIZE, "after": after}),
        api.get("/v1/donors", {"limit": 500}),
    )
    return page(
        request,
        "grants.html",
        grants=found["grants"],
        next_after=found["next_after"],
        chosen=chosen,
        query=params,
        donors=donors["donors"],
    )


async def _grant_page(
    request: Request, grant_id: UUID, form: FormState | None = None, notice: str | None = None
) -> Response:
    api = Api(request)
    grant, journal = await asyncio.gather(
        api.get(f"/v1/grants/{grant_id}"),
        api.maybe("/v1/journal", {"grant_id": str(grant_id), "limit": 200}),
    )
    status = form.problem.status if form is not None and form.problem is not None else 200
    return page(
        request,
        "grant.html",
        status=status if status >= 400 else 200,
        grant=grant,
        entries=None if journal is None else journal["entries"],
        form=form or FormState(),
        notice=notice,
    )


@router.get("/grants/{grant_id}")
async def grant(
    request: Request,
    grant_id: GrantId,
    notice: Annotated[Literal["recorded", "pending"] | None, Query()] = None,
) -> Response:
    return await _grant_page(request, grant_id, notice=notice)


@router.post("/grants/{grant_id}/disbursements")
async def disburse(request: Request, grant_id: GrantId) -> Response:
    form: dict[str, Any] = await request.json()
    currency = text(form, "currency") or "KZT"
    found, errors = amounts(request, form, ("amount",), currency)
    if errors:
        return await _grant_page(request, grant_id, FormState(values=form, errors=errors))
    body = {
        "amount": found["amount"],
        "currency": currency,
        "value_date": text(form, "value_date"),
        "payment_reference": text(form, "payment_reference"),
    }
    school = text(form, "school")

    def then(answer: dict[str, Any]) -> str:
        notice = "pending" if answer.get("status") == "pending" else "recorded"
        if school:
            return f"{PREFIX}/schools/{school}?notice={notice}"
        return f"{PREFIX}/grants/{grant_id}?notice={notice}"

    outcome = await submit(request, f"/v1/grants/{grant_id}/disbursements", body, form, then)
    if isinstance(outcome, FormState):
        return await _grant_page(request, grant_id, outcome)
    return outcome
