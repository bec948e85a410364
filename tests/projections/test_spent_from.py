"""Spending and in-kind gifts that name the grant or programme their money came from
count under that programme first, in the balance endpoint, the IATI and 360Giving
exports and the journal alike; what names nothing still follows the attribution rule."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient

from tests.projections.test_attribution import (
    KZT,
    _programmes,
    exports_agree,
    mixed,
    totals_agree,
)
from tests.projections.test_read_api import post

__all__ = ["mixed"]  # the scenario fixture this module builds on

PROBLEM = "urn:grant-ledger:problem:"


def _grant_of(client: TestClient, school: str, programme: str | None, at: int) -> str:
    grants = client.get("/v1/grants", params={"school": school, "min_position": at}).json()
    (found,) = [g["grant_id"] for g in grants["grants"] if g["programme"] == programme]
    return str(found)


def _spend(school: str, amount: int, ref: str, **source: str) -> tuple[str, dict[str, Any]]:
    body = {"amount": amount, "category": "equipment", "value_date": "2024-03-15",
            "reference": ref, **source}  # fmt: skip
    return f"/v1/schools/{school}/expenditures", body


def _gift(school: str, amount: int, **source: str) -> dict[str, Any]:
    return {"donor": "nis", "kind": "laptops", "fair_value": amount, "valuation_basis": "invoice",
            "school": school, "value_date": "2024-03-15", **source}  # fmt: skip


def test_named_sources_count_under_their_programme(
    client: TestClient, headers: Any, mixed: dict[str, Any]
) -> None:
    before = _programmes(client, min_position=mixed["at"])
    alpha_grant = _grant_of(client, "mixed", "alpha", mixed["at"])
    # orphan's first grant names no programme: spending from it counts under none.
    plain = post(client, headers, "/v1/grants", {
        "donor": "qh", "school": "orphan", "amount": 10_000 * KZT, "value_date": "2024-03-01",
        "reference": "AGR-orphan",
    })["grant_id"]  # fmt: skip
    paid = {"amount": 5_000 * KZT, "value_date": "2024-03-01", "payment_reference": "PP-o"}
    post(client, headers, f"/v1/grants/{plain}/disbursements", paid)

    post(client, headers, *_spend("mixed", 20_000 * KZT, "INV-b1", from_programme="beta"))
    wrong = post(client, headers, *_spend("mixed", 5_000 * KZT, "INV-b2", from_programme="beta"))
    post(client, headers, f"/v1/entries/{wrong['entry_id']}/reversal",
         {"reason": "booked twice", "value_date": "2024-03-15"})  # fmt: skip
    from_alpha = post(
        client, headers, *_spend("mixed", 30_000 * KZT, "INV-a", from_grant=alpha_grant)
    )
    from_plain = post(client, headers, *_spend("orphan", 1_000 * KZT, "INV-o", from_grant=plain))
    last = post(client, headers, "/v1/in-kind-contributions",
                _gift("orphan", 3_000 * KZT, from_programme="alpha"))  # fmt: skip
    at = last["position"]

    now = _programmes(client, min_position=at)
    assert now["beta"]["spent"] == 20_000 * KZT
    assert now["alpha"]["spent"] == before["alpha"]["spent"] + 30_000 * KZT
    assert now["alpha"]["in_kind"] == before["alpha"]["in_kind"] + 3_000 * KZT
    # mixed's unnamed spending stays unattributed (its grants name two programmes).
    assert now["unattributed"]["spent"] == before["unattributed"]["spent"] + 1_000 * KZT
    assert now["alpha"]["schools"] == 3  # solo, mixed, and orphan whose gift names it
    assert now["beta"]["schools"] == 1

    # The same per-programme figures in IATI (today and before these entries) and in
    # 360Giving; all programmes plus unattributed are the ledger's totals.
    exports_agree(client, at, list(now), {}, {"as_of": "2024-03-10"})
    totals_agree(client, at, now, {"in_kind": "in_kind_received"})

    journal = client.get("/v1/journal", params={"min_position": at, "kind": "expenditure"}).json()
    by_id = {e["entry_id"]: e for e in journal["entries"]}
    assert (
        by_id[from_alpha["entry_id"]]["programme"],
        by_id[from_alpha["entry_id"]]["from_grant"],
    ) == ("alpha", alpha_grant)
    plain_entry = by_id[from_plain["entry_id"]]
    assert (plain_entry["programme"], plain_entry["from_grant"]) == ("unattributed", plain)
    # The auditor's exports carry the named grant too: a CSV column, a journal tag.
    params = {"min_position": at}
    rows = list(
        csv.DictReader(io.StringIO(client.get("/v1/exports/journal.csv", params=params).text))
    )
    assert {r["from_grant"] for r in rows if r["entry_id"] == from_alpha["entry_id"]} == {
        alpha_grant
    }
    assert f"; from_grant: {plain}" in client.get("/v1/exports/journal", params=params).text


def test_a_source_that_does_not_fit_records_nothing(
    client: TestClient, headers: Any, mixed: dict[str, Any]
) -> None:
    solo_grant = _grant_of(client, "solo", "alpha", mixed["at"])
    head = client.get("/v1/projections/status").json()["projections"][0]["log_head"]
    refused = [
        (*_spend("mixed", 100, "X-1", from_grant=solo_grant), 422, "invalid-value"),
        (*_spend("mixed", 100, "X-2", from_grant="00000000-0000-4000-8000-000000000009"),
         404, "not-found"),
        (*_spend("mixed", 100, "X-3", from_programme="gamma"), 404, "not-found"),
        (*_spend("mixed", 100, "X-4", from_programme="alpha", from_grant=solo_grant),
         422, "validation-error"),
        ("/v1/in-kind-contributions",
         {**_gift("solo", 100, from_programme="alpha"), "school": None, "programme": "beta"},
         422, "validation-error"),
        ("/v1/programmes", {"code": "unattributed", "name": "Catch-all"}, 422, "invalid-value"),
    ]  # fmt: skip
    for path, body, status, code in refused:
        r = client.post(path, json=body, headers=headers())
        assert (r.status_code, r.json()["type"]) == (status, PROBLEM + code), (body, r.text)
    assert client.get("/v1/projections/status").json()["projections"][0]["log_head"] == head
