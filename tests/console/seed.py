"""A small programme recorded through the API: what the console tests look at."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

# (path, body) -> the API's answer body; a recording the seed needs must succeed.
Post = Callable[[str, dict[str, Any]], dict[str, Any]]

_keys = itertools.count()

HUB = "aktobe-khromtau-hub"
HUB_NAME = "Хромтауская опорная школа"
OTHER_HUB = "almaty-talgar-hub"
SMALL = "aktobe-small-one"
FUND = "qazaqstan-halqyna"
TIYN = 100


def key() -> str:
    return f"console-seed-{next(_keys):06d}"


def seed(post: Post) -> dict[str, str]:
    """Donors, a programme, three schools, two grants, spending; the grant ids by school."""
    post("/v1/donors", {"code": FUND, "name": "Qazaqstan halqyna", "kind": "fund"})
    post("/v1/donors", {"code": "aitas", "name": "AITAS", "kind": "holding"})
    nis = {"code": "nis", "name": "Назарбаев Интеллектуальные школы", "kind": "network"}
    post("/v1/donors", nis)
    post("/v1/programmes", {"code": "hub-schools", "name": "Опорные школы 2022-2025"})
    schools = [
        {"code": HUB, "name": HUB_NAME, "school_type": "hub", "region": "aktobe",
         "district": "Khromtau"},
        {"code": OTHER_HUB, "name": "Талгарская опорная школа", "school_type": "hub",
         "region": "almaty", "district": "Talgar"},
        {"code": SMALL, "name": "Малокомплектная школа Хромтау", "school_type": "small",
         "region": "aktobe", "district": "Khromtau", "hub": HUB},
    ]  # fmt: skip
    for school in schools:
        post("/v1/schools", school)
    grants = {}
    for school in (HUB, OTHER_HUB):
        answer = post(
            "/v1/grants",
            {"donor": FUND, "school": school, "programme": "hub-schools",
             "amount": 250_000_000 * TIYN, "value_date": "2025-01-15",
             "reference": f"AGR-{school[:12]}"},
        )  # fmt: skip
        grants[school] = answer["grant_id"]
    post(
        f"/v1/grants/{grants[HUB]}/disbursements",
        {"amount": 40_000_000 * TIYN, "value_date": "2025-02-01", "payment_reference": "PO-1"},
    )
    post(
        f"/v1/schools/{HUB}/expenditures",
        {"amount": 12_500_000 * TIYN, "category": "equipment", "value_date": "2025-03-01",
         "reference": "INV-1", "description": "Interactive panels"},
    )  # fmt: skip
    post(
        "/v1/operating-costs",
        {"donor": "aitas", "amount": 3_800_000 * TIYN, "category": "salaries",
         "programme": "hub-schools", "value_date": "2025-01-31", "reference": "PAY-1"},
    )  # fmt: skip
    return grants
