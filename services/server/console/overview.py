"""The overview: where the money stands per donor, programme and region, and what waits."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from server.console import i18n
from server.console.charts import bar_chart
from server.console.client import Api
from server.console.render import language_of, page
from server.console.session import PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)

# Enough for the programme's donors and programmes on one page.
LIST_LIMIT = 500


def undisbursed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "undisbursed": r["committed"] - r["disbursed"]} for r in rows]


async def _donors(api: Api) -> list[dict[str, Any]]:
    listed = await api.get("/v1/donors", {"limit": LIST_LIMIT})
    balances = await asyncio.gather(
        *(api.get(f"/v1/balances/donors/{d['code']}") for d in listed["donors"])
    )
    return [{"code": b["code"], "name": b["name"], **f} for b in balances for f in b["figures"]]


@router.get("/")
async def overview(request: Request) -> Response:
    api = Api(request)
    donors, programmes, names, regions, status, pending = await asyncio.gather(
        _donors(api),
        api.get("/v1/balances/programmes"),
        api.get("/v1/programmes", {"limit": LIST_LIMIT}),
        api.get("/v1/balances/regions"),
        api.get("/v1/projections/status"),
        api.maybe("/v1/approvals/pending", {"limit": LIST_LIMIT}),
    )
    programme_names = {p["code"]: p["name"] for p in names["programmes"]}
    region_rows = undisbursed(regions["groups"])
    translate = i18n.translations(language_of(request)).gettext
    kzt = [r for r in region_rows if r["currency"] == "KZT"]
    chart = bar_chart(
        [translate(i18n.REGION_NAMES.get(r["key"], r["key"])) for r in kzt],
        [
            (translate("Committed"), [r["committed"] for r in kzt]),
            (translate("Disbursed"), [r["disbursed"] for r in kzt]),
            (translate("Spent"), [r["spent"] for r in kzt]),
        ],
    )
    waiting = None
    if pending is not None:
        totals: dict[str, int] = {}
        for item in pending["items"]:
            totals[item["currency"]] = totals.get(item["currency"], 0) + item["amount"]
        waiting = {"count": len(pending["items"]), "totals": sorted(totals.items())}
    return page(
        request,
        "overview.html",
        donors=donors,
        programmes=undisbursed(programmes["groups"]),
        programme_names=programme_names,
        regions=region_rows,
        chart=chart,
        waiting=waiting,
        projections=status["projections"],
    )
