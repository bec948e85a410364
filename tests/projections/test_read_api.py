"""Read models through the real app: hand-written scenarios with known answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

GRANT = 25_000_000_000


def post(client: TestClient, headers: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def scenario(client: TestClient, headers: Any) -> dict[str, Any]:
    """Two donors' money moving through one hub school; every kind of entry once."""
    post(client, headers, "/v1/donors", {"code": "qazaqstan-halqyna", "name": "QH"})
    post(client, headers, "/v1/donors", {"code": "aitas", "name": "AITAS"})
    post(client, headers, "/v1/donors", {"code": "nis", "name": "NIS"})
    post(client, headers, "/v1/programmes", {"code": "hub-schools", "name": "Hub schools"})
    school = {"school_type": "hub", "region": "aktobe", "district": "Khromtau"}
    post(client, headers, "/v1/schools", {"code": "khromtau", "name": "Khromtau", **school})
    post(
        client,
        headers,
        "/v1/schools",
        {"code": "arkalyk", "name": "Arkalyk", **school, "region": "kostanay"},
    )
    grant = post(
        client,
        headers,
        "/v1/grants",
        {
            "donor": "qazaqstan-halqyna", "school": "khromtau", "programme": "hub-schools",
            "amount": GRANT, "value_date": "2024-01-15", "reference": "AGR-1",
        },
    )  # fmt: skip
    g = grant["grant_id"]
    d1 = post(
        client, headers, f"/v1/grants/{g}/disbursements",
        {"amount": 10_000_000_000, "value_date": "2024-02-01", "payment_reference": "PP-1"},
    )  # fmt: skip
    d2 = post(
        client, headers, f"/v1/grants/{g}/disbursements",
        {"amount": 5_000_000_000, "value_date": "2024-07-01", "payment_reference": "PP-2"},
    )  # fmt: skip
    spent = post(
        client, headers, "/v1/schools/khromtau/expenditures",
        {"amount": 3_000_000_000, "category": "equipment", "value_date": "2024-03-01",
         "reference": "INV-1"},
    )  # fmt: skip
    post(
        client, headers, "/v1/schools/khromtau/expenditures",
        {"amount": 1_000_000_000, "category": "connectivity", "value_date": "2024-03-05",
         "reference": "INV-2"},
    )  # fmt: skip
    post(
        client, headers, "/v1/operating-costs",
        {"donor": "aitas", "amount": 700_000_000, "category": "monitoring",
         "programme": "hub-schools", "value_date": "2024-03-31", "reference": "OPS-1"},
    )  # fmt: skip
    post(
        client, headers, "/v1/in-kind-contributions",
        {"donor": "nis", "kind": "teacher-training", "fair_value": 400_000_000,
         "valuation_basis": "course cost", "quantities": {"teachers_trained": 20},
         "school": "khromtau", "value_date": "2024-04-10"},
    )  # fmt: skip
    # the second tranche was a duplicate payment order: reversed
    reversal = post(
        client, headers, f"/v1/entries/{d2['entry_id']}/reversal",
        {"reason": "duplicate payment order", "value_date": "2024-07-02"},
    )  # fmt: skip
    return {"grant": g, "d1": d1, "d2": d2, "spent": spent, "reversal": reversal}


def test_school_figures(client: TestClient, scenario: dict[str, Any]) -> None:
    at = scenario["reversal"]["position"]
    body = client.get("/v1/balances/schools/khromtau", params={"min_position": at}).json()
    assert body["position"] >= at
    assert body["region"] == "aktobe"
    assert body["figures"] == [
        {
            "currency": "KZT",
            "committed": GRANT,
            "received": 10_000_000_000,
            "outstanding_commitment": GRANT - 10_000_000_000,
            "spent": 4_000_000_000,
            "spent_by_category": {"connectivity": 1_000_000_000, "equipment": 3_000_000_000},
            "cash_on_hand": 6_000_000_000,
            "in_kind_received": 400_000_000,
            "in_kind_by_kind": {"teacher-training": 400_000_000},
        }
    ]


def test_donor_figures(client: TestClient, scenario: dict[str, Any]) -> None:
    at = scenario["reversal"]["position"]
    qh = client.get("/v1/balances/donors/qazaqstan-halqyna", params={"min_position": at}).json()
    assert qh["schools_funded"] == 1
    assert qh["figures"] == [
        {
            "currency": "KZT",
            "committed": GRANT,
            "disbursed": 10_000_000_000,
            "undisbursed_commitment": GRANT - 10_000_000_000,
            "operating_costs_covered": 0,
            "in_kind_given": 0,
        }
    ]
    aitas = client.get("/v1/balances/donors/aitas", params={"min_position": at}).json()
    assert aitas["figures"][0]["operating_costs_covered"] == 700_000_000
    nis = client.get("/v1/balances/donors/nis", params={"min_position": at}).json()
    assert nis["figures"][0]["in_kind_given"] == 400_000_000
    assert client.get("/v1/balances/donors/nobody").status_code == 404


def test_trial_balance_and_accounts(client: TestClient, scenario: dict[str, Any]) -> None:
    at = scenario["reversal"]["position"]
    trial = client.get("/v1/balances/trial-balance", params={"min_position": at}).json()
    assert trial["balanced"] is True
    assert trial["totals"][0]["net"] == 0
    assert trial["totals"][0]["debits"] == -trial["totals"][0]["credits"] > 0
    accounts = client.get(
        "/v1/balances/accounts", params={"prefix": "schools:khromtau:", "min_position": at}
    ).json()["accounts"]
    assert {a["account"]: a["balance"] for a in accounts} == {
        "schools:khromtau:cash": 6_000_000_000,
        "schools:khromtau:inkind:teacher-training": 400_000_000,
        "schools:khromtau:spent:connectivity": 1_000_000_000,
        "schools:khromtau:spent:equipment": 3_000_000_000,
    }


def test_point_in_time(client: TestClient, scenario: dict[str, Any]) -> None:
    at = scenario["reversal"]["position"]
    # On 30 June only the first tranche had moved, and nothing had been spent after March.
    june = client.get(
        "/v1/balances/schools/khromtau", params={"as_of": "2024-06-30", "min_position": at}
    ).json()
    assert june["as_of"] == "2024-06-30"
    assert june["figures"][0]["received"] == 10_000_000_000
    # On 1 July (value date) the duplicate tranche had arrived and was not yet reversed.
    july = client.get("/v1/balances/schools/khromtau", params={"as_of": "2024-07-01"}).json()
    assert july["figures"][0]["received"] == 15_000_000_000
    # Before the reversal was *recorded*, the ledger showed the duplicate as received.
    journal = client.get("/v1/journal", params={"min_position": at}).json()["entries"]
    reversal = next(e for e in journal if e["kind"] == "reversal")
    just_before = dt.datetime.fromisoformat(reversal["recorded_at"]) - dt.timedelta(microseconds=1)
    shown = client.get(
        "/v1/balances/schools/khromtau", params={"known_at": just_before.isoformat()}
    ).json()
    assert shown["figures"][0]["received"] == 15_000_000_000
    assert shown["figures"][0]["cash_on_hand"] == 11_000_000_000
    trial = client.get(
        "/v1/balances/trial-balance",
        params={"as_of": "2024-03-01", "known_at": just_before.isoformat()},
    ).json()
    assert trial["balanced"] is True
    before_anything = client.get(
        "/v1/balances/schools/khromtau", params={"as_of": "2023-12-31"}
    ).json()
    assert before_anything["figures"] == []


def test_journal_filters_and_pagination(client: TestClient, scenario: dict[str, Any]) -> None:
    at = scenario["reversal"]["position"]
    everything = client.get("/v1/journal", params={"min_position": at}).json()["entries"]
    kinds = [e["kind"] for e in everything]
    assert kinds == [
        "commitment", "disbursement", "disbursement", "expenditure", "expenditure",
        "operating-cost", "in-kind", "reversal",
    ]  # fmt: skip
    for entry in everything:
        assert sum(p["amount"] for p in entry["postings"]) == 0
    d2 = next(e for e in everything if e["entry_id"] == scenario["d2"]["entry_id"])
    assert d2["reversed_by"] == scenario["reversal"]["entry_id"]
    by_grant = client.get("/v1/journal", params={"grant_id": scenario["grant"]}).json()
    assert [e["kind"] for e in by_grant["entries"]] == [
        "commitment", "disbursement", "disbursement", "reversal",
    ]  # fmt: skip
    by_donor = client.get("/v1/journal", params={"donor": "aitas"}).json()["entries"]
    assert [e["kind"] for e in by_donor] == ["operating-cost"]
    by_account = client.get("/v1/journal", params={"account_prefix": "schools:khromtau:spent"})
    assert len(by_account.json()["entries"]) == 2
    dated = client.get("/v1/journal", params={"from": "2024-03-01", "to": "2024-03-31"}).json()
    assert [e["kind"] for e in dated["entries"]] == ["expenditure", "expenditure", "operating-cost"]
    pages, after = [], 0
    while True:
        page = client.get("/v1/journal", params={"after": after, "limit": 3}).json()
        pages.extend(e["entry_id"] for e in page["entries"])
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert pages == [e["entry_id"] for e in everything]


def test_region_and_programme_totals(client: TestClient, scenario: dict[str, Any]) -> None:
    at = scenario["reversal"]["position"]
    regions = client.get("/v1/balances/regions", params={"min_position": at}).json()["groups"]
    aktobe = next(g for g in regions if g["key"] == "aktobe")
    assert aktobe["cash_on_hand"] == 6_000_000_000
    assert aktobe["committed"] == GRANT
    assert aktobe["schools"] == 1
    programmes = client.get("/v1/balances/programmes").json()["groups"]
    hub = next(g for g in programmes if g["key"] == "hub-schools")
    assert hub["committed"] == GRANT
    assert hub["disbursed"] == 10_000_000_000
    assert hub["operating_costs"] == 700_000_000


def test_status_and_read_your_writes(
    client: TestClient, headers: Any, scenario: dict[str, Any]
) -> None:
    status = client.get("/v1/projections/status").json()["projections"][0]
    assert status["name"] == "ledger"
    assert status["log_head"] >= scenario["reversal"]["position"]
    assert status["lag_events"] == status["log_head"] - status["position"]
    written = post(
        client, headers, "/v1/schools/khromtau/expenditures",
        {"amount": 1, "category": "furniture", "value_date": "2024-08-01", "reference": "X"},
    )  # fmt: skip
    body = client.get(
        "/v1/balances/schools/khromtau", params={"min_position": written["position"]}
    ).json()
    assert body["position"] >= written["position"]
    assert body["figures"][0]["spent_by_category"]["furniture"] == 1
    far = client.get("/v1/balances/trial-balance", params={"min_position": 10**9})
    assert far.status_code == 503
    assert far.json()["type"].endswith("projection-lagging")


def test_bad_read_parameters_are_problems(client: TestClient) -> None:
    for params in ({"as_of": "2024-13-01"}, {"known_at": "yesterday"}, {"min_position": -1}):
        response = client.get("/v1/balances/trial-balance", params=params)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/balances/schools/UPPER").status_code == 422
    assert client.get("/v1/journal", params={"limit": 5000}).status_code == 422
