"""On the demo data: each programme's figures are the same in the balance endpoint and
the IATI export, and equal the sums over the programme's schools."""

from __future__ import annotations

import re

from tests.exports.conftest import Demo
from tests.projections.test_attribution import _iati, _iati_of, _programmes


def test_demo_programmes_agree(demo: Demo) -> None:
    at = demo.position
    api = _programmes(demo.client, min_position=at)
    assert _iati(demo.client, min_position=at) == {k: _iati_of(g) for k, g in api.items()}
    hub = api["hub-schools-2022-2025"]
    assert hub["spent"] > 0 and hub["schools"] > 0
    assert hub["cash_on_hand"] == hub["disbursed"] - hub["spent"]
    csv = demo.client.get("/v1/exports/schools.csv", params={"min_position": at}).text
    header, *rows = [line.split(",") for line in csv.strip().splitlines()]
    spent = header.index("spent_minor")
    assert sum(int(r[spent]) for r in rows if r[spent]) == hub["spent"]


def test_360giving_amounts_are_exact_decimals(demo: Demo) -> None:
    """The schema types amounts as JSON numbers: written as exact decimal text with the
    currency's two places (``250000000.00``), never a float's ``250000000.0``."""
    text = demo.client.get("/v1/exports/360giving", params={"min_position": demo.position}).text
    amounts = re.findall(r'"(?:amountAwarded|amountDisbursed|value)":([^,}]+)', text)
    assert amounts and all(re.fullmatch(r"-?\d+\.\d{2}", a) for a in amounts), amounts[:5]


def test_currency_exponents_are_served(demo: Demo) -> None:
    body = demo.client.get("/v1/currencies").json()
    units = {c["code"]: c["exponent"] for c in body["currencies"]}
    assert (units["KZT"], units["JPY"], units["BHD"]) == (2, 0, 3)
