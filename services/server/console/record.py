"""Recording what is not tied to one grant or school page: operating costs and in kind.

(A disbursement is recorded on its grant's page, an expenditure on its school's page, a
reversal on the entry's page.)
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from server.console.client import Api
from server.console.forms import FormState, amounts, optional, submit, text
from server.console.render import page
from server.console.session import PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)

OPERATING_CATEGORIES = ("salaries", "monitoring", "travel", "communications", "office")
QUANTITIES = ("teachers_trained", "hours", "courses", "participants", "schools_reached")


async def _record_page(
    request: Request,
    operating: FormState | None = None,
    in_kind: FormState | None = None,
    notice: str | None = None,
) -> Response:
    api = Api(request)
    donors, programmes = await asyncio.gather(
        api.get("/v1/donors", {"limit": 500}), api.get("/v1/programmes", {"limit": 500})
    )
    refused = next((f.problem for f in (operating, in_kind) if f and f.problem), None)
    return page(
        request,
        "record.html",
        status=refused.status if refused is not None and refused.status >= 400 else 200,
        donors=donors["donors"],
        programmes=programmes["programmes"],
        operating=operating or FormState(),
        in_kind=in_kind or FormState(),
        categories=OPERATING_CATEGORIES,
        quantities=QUANTITIES,
        notice=notice,
    )


@router.get("/record")
async def record(
    request: Request, notice: Annotated[Literal["recorded"] | None, Query()] = None
) -> Response:
    return await _record_page(request, notice=notice)


def _done(_: dict[str, Any]) -> str:
    return f"{PREFIX}/record?notice=recorded"


@router.post("/record/operating-costs")
async def operating_cost(request: Request) -> Response:
    form: dict[str, Any] = await request.json()
    found, errors = amounts(request, form, ("amount",), "KZT")
    if errors:
        return await _record_page(request, operating=FormState(values=form, errors=errors))
    body = {
        "donor": text(form, "donor"),
        "amount": found["amount"],
        "currency": "KZT",
        "category": text(form, "category"),
        "programme": optional(form, "programme"),
        "value_date": text(form, "value_date"),
        "reference": text(form, "reference"),
        "description": text(form, "description"),
    }
    outcome = await submit(request, "/v1/operating-costs", body, form, _done)
    if isinstance(outcome, FormState):
        return await _record_page(request, operating=outcome)
    return outcome


@router.post("/record/in-kind")
async def in_kind(request: Request) -> Response:
    form: dict[str, Any] = await request.json()
    found, errors = amounts(request, form, ("fair_value",), "KZT")
    quantities: dict[str, int] = {}
    for name in QUANTITIES:
        value = text(form, name)
        if value.isdigit() and len(value) <= 10:
            quantities[name] = int(value)
        elif value:
            errors[name] = "0, 1, 2, ..."
    if errors:
        return await _record_page(request, in_kind=FormState(values=form, errors=errors))
    body = {
        "donor": text(form, "donor"),
        "kind": text(form, "kind"),
        "fair_value": found["fair_value"],
        "currency": "KZT",
        "valuation_basis": text(form, "valuation_basis"),
        "quantities": quantities,
        "school": optional(form, "school"),
        "programme": optional(form, "programme"),
        "value_date": text(form, "value_date"),
    }
    outcome = await submit(request, "/v1/in-kind-contributions", body, form, _done)
    if isinstance(outcome, FormState):
        if outcome.errors:
            # The API names nested quantities as quantities.<name>; the form calls them <name>.
            outcome.errors = {k.removeprefix("quantities."): v for k, v in outcome.errors.items()}
        return await _record_page(request, in_kind=outcome)
    return outcome
