"""On the demo data: each programme's figures are the same in the balance endpoint and
the IATI export, and equal the sums over the programme's schools."""

from __future__ import annotations

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
