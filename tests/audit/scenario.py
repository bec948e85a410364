"""A small ledger recorded through the API, shared by the audit tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def post(client: TestClient, headers: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def record_scenario(client: TestClient, headers: Any) -> dict[str, Any]:
    """Donor, school, grant, two disbursements (one reversed), an expenditure."""
    post(client, headers, "/v1/donors", {"code": "qh", "name": "QH", "kind": "fund"})
    post(client, headers, "/v1/programmes", {"code": "hubs", "name": "Hub schools"})
    school = {"school_type": "hub", "region": "aktobe", "district": "Khromtau"}
    post(client, headers, "/v1/schools", {"code": "khromtau", "name": "Khromtau", **school})
    grant = post(
        client, headers, "/v1/grants",
        {"donor": "qh", "school": "khromtau", "programme": "hubs", "amount": 25_000_000_000,
         "value_date": "2024-01-15", "reference": "AGR-1"},
    )  # fmt: skip
    g = grant["grant_id"]
    # 100,000,000 KZT is above the four-eyes threshold: requested by alice, approved by bob.
    r = client.post(
        f"/v1/grants/{g}/disbursements",
        json={"amount": 10_000_000_000, "value_date": "2024-02-01", "payment_reference": "PP-1"},
        headers=headers(),
    )
    assert r.status_code == 202, r.text
    d1 = r.json()
    approved = client.post(
        f"/v1/approvals/{d1['entry_id']}/approve",
        json={"reason": "payment order checked against the agreement"},
        headers=headers(actor="bob", roles=["approver"]),
    )
    assert approved.status_code == 201, approved.text
    d2 = post(
        client, headers, f"/v1/grants/{g}/disbursements",
        {"amount": 1_000_000_000, "value_date": "2024-02-02", "payment_reference": "PP-1"},
    )  # fmt: skip
    rev = post(
        client, headers, f"/v1/entries/{d2['entry_id']}/reversal",
        {"value_date": "2024-02-03", "reason": "entered twice"},
    )  # fmt: skip
    spent = post(
        client, headers, "/v1/schools/khromtau/expenditures",
        {"amount": 3_000_000_000, "category": "equipment", "value_date": "2024-03-01",
         "reference": "INV-1", "description": "laptops"},
    )  # fmt: skip
    return {
        "grant": g,
        "disbursement": d1["entry_id"],
        "duplicate": d2["entry_id"],
        "reversal": rev["entry_id"],
        "expenditure": spent["entry_id"],
        "position": spent["position"],
        "approved_at": approved.json()["position"],
    }
