"""Schools: search and filters, a school's page, and recording its spending."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from server.console import i18n
from server.console.charts import bar_chart
from server.console.client import Api
from server.console.forms import FormState, amounts, optional, submit, text
from server.console.render import language_of, page
from server.console.session import PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)

CODE = r"^[a-z0-9][a-z0-9-]{1,63}$"
PAGE_SIZE = 50
SPENDING_CATEGORIES = (
    "equipment", "classroom-refurbishment", "connectivity", "furniture", "laboratory",
)  # fmt: skip
Code = Annotated[str, Path(pattern=CODE, description="School code.")]
Notice = Annotated[Literal["recorded", "pending"] | None, Query(description="What just happened.")]


@router.get("/schools")
async def schools(
    request: Request,
    q: Annotated[str | None, Query(max_length=100)] = None,
    region: Annotated[str | None, Query(max_length=64)] = None,
    school_type: Annotated[str | None, Query(alias="type", max_length=8)] = None,
    hub: Annotated[str | None, Query(max_length=64)] = None,
    after: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    chosen = {"q": q, "region": region, "type": school_type, "hub": hub}
    params = {k: v for k, v in chosen.items() if v}
    found = await Api(request).get("/v1/schools", {**params, "limit": PAGE_SIZE, "after": after})
    translate = i18n.translations(language_of(request)).gettext
    regions = sorted(
        ((slug, translate(name)) for slug, name in i18n.REGION_NAMES.items()), key=lambda r: r[1]
    )
    return page(
        request,
        "schools.html",
        schools=found["schools"],
        next_after=found["next_after"],
        chosen=chosen,
        query=params,
        regions=regions,
    )


async def _school_page(
    request: Request, code: str, form: FormState | None = None, notice: str | None = None
) -> Response:
    api = Api(request)
    balance, grants, journal = await asyncio.gather(
        api.get(f"/v1/balances/schools/{code}"),
        api.maybe("/v1/grants", {"school": code, "limit": 100}),
        api.maybe("/v1/journal", {"school": code, "limit": 100}),
    )
    translate = i18n.translations(language_of(request)).gettext
    charts = []
    for figures in balance["figures"]:
        spent = sorted(figures["spent_by_category"].items(), key=lambda kv: -kv[1])
        if spent:
            chart = bar_chart([k for k, _ in spent], [(translate("Spent"), [v for _, v in spent])])
            charts.append((figures["currency"], chart))
    status = 200 if form is None or form.problem is None else form.problem.status
    return page(
        request,
        "school.html",
        status=status if status >= 400 else 200,
        school=balance,
        grants=None if grants is None else grants["grants"],
        entries=None if journal is None else journal["entries"],
        charts=charts,
        form=form or FormState(),
        categories=SPENDING_CATEGORIES,
        notice=notice,
    )


@router.get("/schools/{code}")
async def school(request: Request, code: Code, notice: Notice = None) -> Response:
    return await _school_page(request, code, notice=notice)


@router.post("/schools/{code}/expenditures")
async def record_expenditure(request: Request, code: Code) -> Response:
    form: dict[str, Any] = await request.json()
    currency = text(form, "currency") or "KZT"
    found, errors = amounts(request, form, ("amount",), currency)
    if errors:
        return await _school_page(request, code, FormState(values=form, errors=errors))
    body = {
        "amount": found["amount"],
        "currency": currency,
        "category": text(form, "category"),
        "value_date": text(form, "value_date"),
        "reference": text(form, "reference"),
        "description": optional(form, "description") or "",
    }
    outcome = await submit(
        request,
        f"/v1/schools/{code}/expenditures",
        body,
        form,
        lambda _: f"{PREFIX}/schools/{code}?notice=recorded",
    )
    if isinstance(outcome, FormState):
        return await _school_page(request, code, outcome)
    return outcome
