"""Reconciliation: a school's or donor's bank statements against the ledger, for a period.

Lines only in the bank can be explained here (a bank fee, a refund, ...); the explanation is
recorded through the API like any other fact, with its own idempotency key.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from server.console.client import Api, Problem
from server.console.forms import new_key, text
from server.console.render import page
from server.console.session import PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)

CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
Kind = Literal["school", "donor"]


def _period(
    request: Request, start: dt.date | None, end: dt.date | None
) -> tuple[dt.date, dt.date]:
    """The chosen days, else the month so far (in the console's time zone)."""
    today = dt.datetime.now(ZoneInfo(request.app.state.console.zone)).date()
    return start or today.replace(day=1), end or today


def _query(kind: str, code: str, start: dt.date, end: dt.date) -> dict[str, str]:
    return {"party": f"{kind}:{code}", "from": start.isoformat(), "to": end.isoformat()}


async def _page(
    request: Request,
    kind: str,
    code: str,
    start: dt.date,
    end: dt.date,
    problem: Problem | None = None,
) -> Response:
    api = Api(request)
    donors = await api.get("/v1/donors", {"limit": 500})
    found = None
    if code:
        found = await api.get("/v1/reconciliation", _query(kind, code, start, end))
    return page(
        request,
        "reconciliation.html",
        status=problem.status if problem else 200,
        donors=donors["donors"],
        chosen={"kind": kind, "code": code, "from": start, "to": end},
        query=_query(kind, code, start, end) if code else None,
        rec=found,
        problem=problem,
        key=new_key(),
    )


@router.get("/reconciliation")
async def reconciliation(
    request: Request,
    kind: Annotated[Kind, Query()] = "school",
    code: Annotated[str, Query(pattern=CODE.pattern)] | None = None,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
) -> Response:
    first, last = _period(request, start, end)
    return await _page(request, kind, code or "", first, last)


@router.get("/reconciliation.{ext}")
async def export(
    request: Request,
    ext: Literal["csv", "xlsx"],
    kind: Annotated[Kind, Query()],
    code: Annotated[str, Query(pattern=CODE.pattern)],
    start: Annotated[dt.date, Query(alias="from")],
    end: Annotated[dt.date, Query(alias="to")],
) -> Response:
    """The reconciliation's export, as the API gives it."""
    name = f"reconciliation-{kind}-{code}-{start}-{end}.{ext}"
    return Api(request).download(f"/v1/reconciliation.{ext}", name, _query(kind, code, start, end))


@router.post("/reconciliation/explanations")
async def explain(request: Request) -> Response:
    form: dict[str, Any] = await request.json()
    kind = "donor" if text(form, "kind") == "donor" else "school"
    code = text(form, "code")
    try:
        start = dt.date.fromisoformat(text(form, "from"))
        end = dt.date.fromisoformat(text(form, "to"))
    except ValueError:
        start, end = _period(request, None, None)
    body = {
        "iik": text(form, "iik"),
        "date": text(form, "date"),
        "key": text(form, "key"),
        "reason": text(form, "reason"),
    }
    answer = await Api(request).post(
        "/v1/reconciliation/explanations", body, key=text(form, "idempotency_key") or None
    )
    if answer.status >= 300:
        problem = Problem.from_body(answer.status, answer.body)
        return await _page(request, kind, code if CODE.match(code) else "", start, end, problem)
    query = f"kind={kind}&code={code}&from={start}&to={end}"
    return RedirectResponse(f"{PREFIX}/reconciliation?{query}", status_code=303)
