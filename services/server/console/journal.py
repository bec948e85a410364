"""The journal: filters, pages by cursor, an entry with its maker and approver, reversal."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from server.console.client import Api, ApiRefused, Problem
from server.console.forms import FormState, optional, submit, text
from server.console.render import page
from server.console.session import PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)

PAGE_SIZE = 50
KINDS = (
    "commitment", "disbursement", "reduction", "expenditure", "operating-cost", "in-kind",
    "reversal",
)  # fmt: skip
Kind = Literal[
    "commitment", "disbursement", "reduction", "expenditure", "operating-cost", "in-kind",
    "reversal",
]  # fmt: skip
CodeQ = Annotated[str | None, Query(max_length=64)]
Position = Annotated[int, Path(ge=1, le=2**63 - 1, description="Log position of the entry.")]


@router.get("/journal")
async def journal(
    request: Request,
    kind: Annotated[Kind | None, Query()] = None,
    school: CodeQ = None,
    donor: CodeQ = None,
    date_from: Annotated[dt.date | None, Query(alias="from")] = None,
    date_to: Annotated[dt.date | None, Query(alias="to")] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    chosen: dict[str, Any] = {
        "kind": kind, "school": school, "donor": donor, "from": date_from, "to": date_to,
    }  # fmt: skip
    params = {k: str(v) for k, v in chosen.items() if v}
    found = await Api(request).get("/v1/journal", {**params, "after": after, "limit": PAGE_SIZE})
    return page(
        request,
        "journal.html",
        entries=found["entries"],
        next_after=found["next_after"],
        chosen=chosen,
        query=params,
        kinds=KINDS,
    )


async def _entry(api: Api, position: int) -> dict[str, Any]:
    found = await api.get("/v1/journal", {"after": position - 1, "limit": 1})
    entries = found["entries"]
    if not entries or entries[0]["position"] != position:
        raise ApiRefused(Problem(404, "not-found", "Not found", f"no entry at {position}"))
    entry: dict[str, Any] = entries[0]
    return entry


async def _entry_page(
    request: Request, position: int, form: FormState | None = None, notice: str | None = None
) -> Response:
    api = Api(request)
    try:
        entry = await _entry(api, position)
    except ApiRefused as e:
        return page(request, "error.html", 404, title=e.problem.title, detail=e.problem.detail)
    status = form.problem.status if form is not None and form.problem is not None else 200
    return page(
        request,
        "entry.html",
        status=status if status >= 400 else 200,
        entry=entry,
        form=form or FormState(),
        notice=notice,
    )


@router.get("/journal/{position}")
async def entry(
    request: Request,
    position: Position,
    notice: Annotated[Literal["recorded"] | None, Query()] = None,
) -> Response:
    return await _entry_page(request, position, notice=notice)


@router.post("/journal/{position}/reversal")
async def reverse(request: Request, position: Position) -> Response:
    form: dict[str, Any] = await request.json()
    found = await _entry(Api(request), position)
    body = {"reason": text(form, "reason"), "value_date": optional(form, "value_date")}
    outcome = await submit(
        request,
        f"/v1/entries/{found['entry_id']}/reversal",
        body,
        form,
        lambda _: f"{PREFIX}/journal/{position}?notice=recorded",
    )
    if isinstance(outcome, FormState):
        return await _entry_page(request, position, outcome)
    return outcome
