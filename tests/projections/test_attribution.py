"""One attribution rule for every programme figure, through the real app: the balance
endpoint, the IATI and 360Giving exports and the business gauges agree, per programme
and in every cut, and add up to the ledger's totals."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.projections.test_read_api import post

KZT = 100


@pytest.fixture
def mixed(client: TestClient, headers: Any) -> dict[str, Any]:
    """School ``solo`` has grants under one programme; ``mixed`` first under ``alpha``,
    then (after spending) also under ``beta``; ``orphan`` has no grant at all."""
    post(client, headers, "/v1/donors", {"code": "qh", "name": "QH"})
    post(client, headers, "/v1/donors", {"code": "nis", "name": "NIS"})
    for code in ("alpha", "beta"):
        post(client, headers, "/v1/programmes", {"code": code, "name": code.title()})
    school = {"school_type": "hub", "region": "aktobe", "district": "Khromtau"}
    for code in ("solo", "mixed", "orphan"):
        post(client, headers, "/v1/schools", {"code": code, "name": code.title(), **school})

    def grant(school: str, programme: str, amount: int, day: str) -> str:
        body = {"donor": "qh", "school": school, "programme": programme, "amount": amount,
                "value_date": day, "reference": f"AGR-{school}-{programme}"}  # fmt: skip
        g: str = post(client, headers, "/v1/grants", body)["grant_id"]
        post(
            client, headers, f"/v1/grants/{g}/disbursements",
            {"amount": amount // 2, "value_date": day, "payment_reference": f"PP-{g[:8]}"},
        )  # fmt: skip
        return g

    def spend(school: str, amount: int, day: str) -> dict[str, Any]:
        return post(
            client, headers, f"/v1/schools/{school}/expenditures",
            {"amount": amount, "category": "equipment", "value_date": day,
             "reference": f"INV-{school}-{day}"},
        )  # fmt: skip

    grant("solo", "alpha", 1_000_000 * KZT, "2024-01-10")
    grant("mixed", "alpha", 2_000_000 * KZT, "2024-01-10")
    spend("solo", 100_000 * KZT, "2024-02-01")
    spend("mixed", 300_000 * KZT, "2024-02-01")
    post(
        client, headers, "/v1/in-kind-contributions",
        {"donor": "nis", "kind": "teacher-training", "fair_value": 40_000 * KZT,
         "valuation_basis": "course cost", "school": "solo", "value_date": "2024-02-05"},
    )  # fmt: skip
    post(
        client, headers, "/v1/in-kind-contributions",
        {"donor": "nis", "kind": "laptops", "fair_value": 7_000 * KZT,
         "valuation_basis": "invoice", "school": "orphan", "value_date": "2024-02-05"},
    )  # fmt: skip
    post(
        client, headers, "/v1/operating-costs",
        {"donor": "qh", "amount": 5_000 * KZT, "category": "monitoring",
         "value_date": "2024-02-06", "reference": "OPS-1"},
    )  # fmt: skip
    grant("mixed", "beta", 500_000 * KZT, "2024-03-01")
    last = spend("mixed", 50_000 * KZT, "2024-03-10")
    return {"at": last["position"]}


def _programmes(client: TestClient, **params: Any) -> dict[str, dict[str, Any]]:
    body = client.get("/v1/balances/programmes", params=params).json()
    return {g["key"]: g for g in body["groups"]}


def _iati(client: TestClient, **params: Any) -> dict[str, dict[str, int]]:
    """Per activity: IATI transaction type -> summed value, in minor units."""
    xml = client.get("/v1/exports/iati", params=params).text
    out: dict[str, dict[str, int]] = {}
    for activity in xml.split("<iati-activity ")[1:]:
        found = re.search(r"<iati-identifier>XI-IATI-HUBLEDGER-(.*?)<", activity)
        assert found is not None
        sums: dict[str, int] = defaultdict(int)
        for code, value in re.findall(
            r'<transaction-type code="(\d)"/>.*?<value[^>]*>([-\d.]+)<', activity
        ):
            sums[code] += int(Decimal(value) * KZT)
        out[found.group(1)] = dict(sums)
    return out


def _iati_of(g: dict[str, Any]) -> dict[str, int]:
    expensed = g["spent"] + g["operating_costs"] + g["in_kind"]
    return {k: v for k, v in {"2": g["committed"], "3": g["disbursed"], "4": expensed}.items() if v}


def exports_agree(client: TestClient, at: int, codes: list[str], *cuts: dict[str, str]) -> None:
    """IATI's activities (in every cut) and 360Giving's grants, per programme, carry the
    balance endpoint's figures."""
    for cut in cuts:
        api = _programmes(client, min_position=at, **cut)
        assert _iati(client, min_position=at, **cut) == {k: _iati_of(g) for k, g in api.items()}
    now = _programmes(client, min_position=at)
    package = json.loads(client.get("/v1/exports/360giving", params={"min_position": at}).text)
    awarded: dict[str, Decimal] = defaultdict(Decimal)
    disbursed: dict[str, Decimal] = defaultdict(Decimal)
    for g in package["grants"]:
        code = (g.get("grantProgramme") or [{"code": "unattributed"}])[0]["code"]
        awarded[code] += Decimal(str(g["amountAwarded"]))
        disbursed[code] += Decimal(str(g["amountDisbursed"]))
    for code in codes:
        assert awarded[code] * KZT == now[code]["committed"], code
        assert disbursed[code] * KZT == now[code]["disbursed"], code


def totals_agree(
    client: TestClient, at: int, now: dict[str, dict[str, Any]], more: dict[str, str]
) -> list[list[dict[str, Any]]]:
    """Over all programmes plus unattributed, each figure is the schools' total (the
    scenario's schools); returns their figures."""
    schools = [
        client.get(f"/v1/balances/schools/{s}", params={"min_position": at}).json()["figures"]
        for s in ("solo", "mixed", "orphan")
    ]
    pairs = {"spent": "spent", "cash_on_hand": "cash_on_hand", "disbursed": "received", **more}
    for figure, school_figure in pairs.items():
        total = sum(f[school_figure] for s in schools for f in s)
        assert sum(g[figure] for g in now.values()) == total, figure
    return schools


def test_one_rule_everywhere(client: TestClient, mixed: dict[str, Any]) -> None:
    at = mixed["at"]
    now = _programmes(client, min_position=at)
    assert set(now) == {"alpha", "beta", "unattributed"}
    # solo's spending and gift count under alpha; mixed's moved to unattributed when
    # its beta grant arrived, with orphan's gift and the programme-less operating cost.
    assert now["alpha"]["spent"] == 100_000 * KZT
    assert now["alpha"]["in_kind"] == 40_000 * KZT
    assert now["alpha"]["cash_on_hand"] == (500_000 + 1_000_000 - 100_000) * KZT
    assert now["alpha"]["committed"] == 3_000_000 * KZT
    assert now["alpha"]["schools"] == 2
    assert now["beta"]["spent"] == 0
    assert now["unattributed"]["spent"] == 350_000 * KZT
    assert now["unattributed"]["in_kind"] == 7_000 * KZT
    assert now["unattributed"]["operating_costs"] == 5_000 * KZT
    assert now["unattributed"]["schools"] == 2

    # Before the beta grant, mixed's grants all named alpha: its spending was alpha's.
    before = _programmes(client, min_position=at, as_of="2024-02-28")
    assert set(before) == {"alpha", "unattributed"}
    assert before["alpha"]["spent"] == 400_000 * KZT
    assert before["unattributed"]["spent"] == 0

    exports_agree(client, at, ["alpha", "beta"], {}, {"as_of": "2024-02-28"})
    # Over all programmes plus unattributed, the figures are the ledger's totals.
    schools = totals_agree(client, at, now, {"committed": "committed"})
    # ... and equal to the sum over the programme's schools (solo is alpha-only).
    solo = schools[0][0]
    assert now["alpha"]["spent"] == solo["spent"]


def test_gauges_use_the_rule(client: TestClient, mixed: dict[str, Any]) -> None:
    now = _programmes(client, min_position=mixed["at"])
    metrics = client.get("/metrics").text
    for key, figure in (("alpha", "spent"), ("unattributed", "spent"), ("alpha", "cash_on_hand")):
        line = f'ledger_programme_{figure}_minor_units{{currency="KZT",programme="{key}"}}'
        value = next(x for x in metrics.splitlines() if x.startswith(line))
        assert float(value.split()[-1]) == now[key][figure]
