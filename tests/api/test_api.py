"""Every route through the real app: happy paths, each 4xx class, retries, races."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.application.app import LedgerApplication

PROBLEM = "application/problem+json"
GRANT = 25_000_000_000  # 250,000,000 KZT in tiyn


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:grant-ledger:problem:{code}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


@pytest.fixture
def world(client: TestClient, headers: Any) -> dict[str, str]:
    """A donor, a programme, a hub school with a small school, and one committed grant."""
    for path, body in [
        ("/v1/donors", {"code": "qazaqstan-halqyna", "name": "Qazaqstan halqyna"}),
        ("/v1/donors", {"code": "aitas", "name": "AITAS"}),
        ("/v1/donors", {"code": "nis", "name": "Nazarbayev Intellectual Schools"}),
        ("/v1/programmes", {"code": "hub-schools", "name": "Hub schools 2022-2025"}),
        (
            "/v1/schools",
            {
                "code": "aktobe-khromtau-hub",
                "name": "Khromtau hub school",
                "school_type": "hub",
                "region": "aktobe",
                "district": "Khromtau",
            },
        ),
        (
            "/v1/schools",
            {
                "code": "aktobe-small-1",
                "name": "Small school 1",
                "school_type": "small",
                "region": "aktobe",
                "district": "Khromtau",
                "hub": "aktobe-khromtau-hub",
            },
        ),
    ]:
        response = client.post(path, json=body, headers=headers())
        assert response.status_code == 201, response.text
        assert response.json()["code"] == body["code"]
        assert response.headers["location"] == f"{path}/{body['code']}"
    response = client.post(
        "/v1/grants",
        json={
            "donor": "qazaqstan-halqyna",
            "school": "aktobe-khromtau-hub",
            "programme": "hub-schools",
            "amount": GRANT,
            "value_date": "2024-02-01",
            "reference": "AGR-2024-001",
        },
        headers=headers(),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["position"] > 0
    return {"grant": body["grant_id"], "commitment": body["entry_id"]}


def disburse(client: TestClient, headers: Any, grant: str, amount: int, **h: str) -> Any:
    return client.post(
        f"/v1/grants/{grant}/disbursements",
        json={"amount": amount, "value_date": "2024-03-01", "payment_reference": "PP-1"},
        headers=headers(**h),
    )


def test_registry_reads_with_etags(client: TestClient, world: dict[str, str]) -> None:
    donor = client.get("/v1/donors/aitas")
    assert donor.status_code == 200
    assert donor.json() == {"code": "aitas", "name": "AITAS", "kind": "unspecified", "version": 1}
    assert donor.headers["etag"] == '"1"'
    programme = client.get("/v1/programmes/hub-schools")
    assert programme.json()["name"] == "Hub schools 2022-2025"
    small = client.get("/v1/schools/aktobe-small-1").json()
    assert small["hub"] == "aktobe-khromtau-hub"
    assert small["school_type"] == "small"
    account = client.get("/v1/schools/aktobe-khromtau-hub/account")
    assert account.json()["cash_on_hand"] == []
    assert account.headers["etag"] == '"1"'


def test_grant_lifecycle(client: TestClient, headers: Any, world: dict[str, str]) -> None:
    grant = world["grant"]
    first = disburse(client, headers, grant, 10_000_000_000)
    assert first.status_code == 201, first.text
    assert first.json()["grant_id"] == grant
    view = client.get(f"/v1/grants/{grant}")
    assert view.json()["disbursed"] == 10_000_000_000
    assert view.json()["undisbursed"] == GRANT - 10_000_000_000
    assert view.headers["etag"] == '"2"'

    spent = client.post(
        "/v1/schools/aktobe-khromtau-hub/expenditures",
        json={
            "amount": 4_000_000_000,
            "category": "equipment",
            "value_date": "2024-03-15",
            "reference": "INV-7",
            "description": "Physics laboratory",
        },
        headers=headers(),
    )
    assert spent.status_code == 201, spent.text
    cash = client.get("/v1/schools/aktobe-khromtau-hub/account").json()["cash_on_hand"]
    assert cash == [{"currency": "KZT", "amount": 6_000_000_000}]

    reduced = client.post(
        f"/v1/grants/{grant}/reductions",
        json={"amount": 1_000_000_000, "value_date": "2024-04-01", "reason": "scope cut"},
        headers=headers(),
    )
    assert reduced.status_code == 201 and reduced.json()["amount"] == 1_000_000_000
    cancelled = client.post(
        f"/v1/grants/{grant}/cancellation",
        json={"value_date": "2024-05-01", "reason": "programme stage closed"},
        headers=headers(),
    )
    assert cancelled.status_code == 201
    assert cancelled.json()["amount"] == GRANT - 10_000_000_000 - 1_000_000_000
    assert client.get(f"/v1/grants/{grant}").json()["undisbursed"] == 0

    reversal = client.post(
        f"/v1/entries/{spent.json()['entry_id']}/reversal",
        json={"reason": "invoice booked twice", "value_date": "2024-05-02"},
        headers=headers(),
    )
    assert reversal.status_code == 201, reversal.text
    assert reversal.json()["reverses"] == spent.json()["entry_id"]
    cash = client.get("/v1/schools/aktobe-khromtau-hub/account").json()["cash_on_hand"]
    assert cash == [{"currency": "KZT", "amount": 10_000_000_000}]
    again = client.post(
        f"/v1/entries/{spent.json()['entry_id']}/reversal",
        json={"reason": "twice"},
        headers=headers(),
    )
    assert_problem(again, 409, "already-reversed")


def test_operating_costs_and_in_kind(
    client: TestClient, headers: Any, world: dict[str, str]
) -> None:
    cost = client.post(
        "/v1/operating-costs",
        json={
            "donor": "aitas",
            "amount": 150_000_000,
            "category": "monitoring",
            "programme": "hub-schools",
            "value_date": "2024-06-30",
            "reference": "AITAS-OPS-06",
        },
        headers=headers(),
    )
    assert cost.status_code == 201, cost.text
    gift = client.post(
        "/v1/in-kind-contributions",
        json={
            "donor": "nis",
            "kind": "teacher-training",
            "fair_value": 1_200_000_000,
            "valuation_basis": "NIS course cost per teacher x teachers trained",
            "quantities": {"teachers_trained": 40, "hours": 72, "courses": 2},
            "school": "aktobe-khromtau-hub",
            "value_date": "2024-08-20",
        },
        headers=headers(),
    )
    assert gift.status_code == 201, gift.text
    assert client.get("/v1/donors/nis").json()["version"] == 2
    both = client.post(
        "/v1/in-kind-contributions",
        json={
            "donor": "nis",
            "kind": "teacher-training",
            "fair_value": 1,
            "valuation_basis": "x",
            "school": "aktobe-khromtau-hub",
            "programme": "hub-schools",
            "value_date": "2024-08-20",
        },
        headers=headers(),
    )
    assert_problem(both, 422, "validation-error")


def test_overdraw_is_a_409_problem_and_records_nothing(
    client: TestClient, headers: Any, world: dict[str, str], ledger: LedgerApplication
) -> None:
    head = ledger.log_head()
    body = assert_problem(
        disburse(client, headers, world["grant"], GRANT + 1), 409, "exceeds-undisbursed-commitment"
    )
    assert "exceeds the undisbursed commitment" in body["detail"]
    overspend = client.post(
        "/v1/schools/aktobe-khromtau-hub/expenditures",
        json={"amount": 1, "category": "equipment", "value_date": "2024-03-15", "reference": "X"},
        headers=headers(),
    )
    assert_problem(overspend, 409, "exceeds-cash-on-hand")
    assert ledger.log_head() == head


def test_idempotent_retry_returns_the_original(
    client: TestClient, headers: Any, world: dict[str, str], ledger: LedgerApplication
) -> None:
    first = disburse(client, headers, world["grant"], 5_000_000_000, key="po-2024-000123")
    head = ledger.log_head()
    retry = disburse(client, headers, world["grant"], 5_000_000_000, key="po-2024-000123")
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert ledger.log_head() == head
    assert client.get(f"/v1/grants/{world['grant']}").json()["disbursed"] == 5_000_000_000
    different = disburse(client, headers, world["grant"], 6_000_000_000, key="po-2024-000123")
    assert_problem(different, 422, "idempotency-key-reused")
    assert ledger.log_head() == head


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 0}, "body.amount"),
        ({"amount": -5}, "body.amount"),
        ({"amount": 1.5}, "body.amount"),
        ({"amount": "100"}, "body.amount"),
        ({"amount": True}, "body.amount"),
        ({"amount": 10**15 + 1}, "body.amount"),
        ({"amount": 10**30}, "body.amount"),
        ({"currency": "kzt"}, "body.currency"),
        ({"value_date": "2024-02-30"}, "body.value_date"),
        ({"value_date": 1700000000}, "body.value_date"),
        ({"value_date": "2024-01-01T00:00:00"}, "body.value_date"),
        ({"payment_reference": ""}, "body.payment_reference"),
        ({"surprise": 1}, "body.surprise"),
    ],
)
def test_invalid_fields_are_422_with_field_errors(
    client: TestClient,
    headers: Any,
    world: dict[str, str],
    ledger: LedgerApplication,
    body: dict[str, Any],
    field: str,
) -> None:
    head = ledger.log_head()
    payload = {"amount": 100, "value_date": "2024-03-01", "payment_reference": "PP", **body}
    response = client.post(
        f"/v1/grants/{world['grant']}/disbursements", json=payload, headers=headers()
    )
    problem = assert_problem(response, 422, "validation-error")
    assert field in [e["field"] for e in problem["errors"]]
    assert ledger.log_head() == head


def test_domain_validation_problems(
    client: TestClient, headers: Any, world: dict[str, str]
) -> None:
    usd = disburse_body = {
        "amount": 100,
        "currency": "USD",
        "value_date": "2024-03-01",
        "payment_reference": "P",
    }
    response = client.post(
        f"/v1/grants/{world['grant']}/disbursements", json=usd, headers=headers()
    )
    assert_problem(response, 422, "currency-mismatch")
    disburse_body = {**usd, "currency": "XXQ"}
    response = client.post(
        f"/v1/grants/{world['grant']}/disbursements", json=disburse_body, headers=headers()
    )
    assert_problem(response, 422, "currency-mismatch")
    unknown_region = client.post(
        "/v1/schools",
        json={
            "code": "x-1",
            "name": "X",
            "school_type": "hub",
            "region": "atlantis",
            "district": "d",
        },
        headers=headers(),
    )
    assert_problem(unknown_region, 422, "invalid-value")
    unknown_currency = client.post(
        "/v1/grants",
        json={
            "donor": "aitas",
            "school": "aktobe-khromtau-hub",
            "amount": 5,
            "currency": "XXQ",
            "value_date": "2024-01-01",
            "reference": "R",
        },
        headers=headers(),
    )
    assert_problem(unknown_currency, 422, "unknown-currency")


def test_not_found_and_duplicates(client: TestClient, headers: Any, world: dict[str, str]) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert_problem(client.get(f"/v1/grants/{missing}"), 404, "not-found")
    assert_problem(client.get("/v1/donors/nobody"), 404, "not-found")
    assert_problem(client.get("/v1/schools/nowhere/account"), 404, "not-found")
    assert_problem(disburse(client, headers, missing, 100), 404, "not-found")
    response = client.post(
        f"/v1/entries/{missing}/reversal", json={"reason": "r"}, headers=headers()
    )
    assert_problem(response, 404, "not-found")
    grant = client.post(
        "/v1/grants",
        json={
            "donor": "ghost",
            "school": "aktobe-khromtau-hub",
            "amount": 5,
            "value_date": "2024-01-01",
            "reference": "R",
        },
        headers=headers(),
    )
    assert_problem(grant, 404, "not-found")
    again = client.post("/v1/donors", json={"code": "aitas", "name": "Again"}, headers=headers())
    assert_problem(again, 409, "already-exists")
    assert_problem(client.get("/v1/nothing-here"), 404, "not-found")
    assert_problem(client.delete("/v1/donors/aitas"), 405, "method-not-allowed")


def test_header_and_body_problems(
    client: TestClient, headers: Any, world: dict[str, str], ledger: LedgerApplication
) -> None:
    head = ledger.log_head()
    url = f"/v1/grants/{world['grant']}/disbursements"
    ok_body = {"amount": 100, "value_date": "2024-03-01", "payment_reference": "P"}
    assert_problem(client.post(url, json=ok_body), 400, "idempotency-key-required")
    assert_problem(
        client.post(url, json=ok_body, headers=headers(key="short")), 400, "invalid-idempotency-key"
    )
    assert_problem(
        client.post(url, json=ok_body, headers=headers(**{"If-Match": "abc"})),
        400,
        "invalid-if-match",
    )
    raw = {**headers(), "content-type": "application/json"}
    assert_problem(client.post(url, content=b'{"amount": ', headers=raw), 400, "malformed-json")
    assert_problem(client.post(url, content=b"[1, 2]", headers=raw), 422, "validation-error")
    # Strict JSON: NaN/Infinity and duplicate keys are malformed, not values.
    assert_problem(client.post(url, content=b'{"amount": NaN}', headers=raw), 400, "malformed-json")
    big = b'{"payment_reference": "' + b"x" * 20_000 + b'"}'
    assert_problem(client.post(url, content=big, headers=raw), 413, "body-too-large")
    assert_problem(client.get("/v1/grants/not-a-uuid"), 422, "validation-error")
    assert ledger.log_head() == head


def test_if_match_race_has_exactly_one_winner(
    client: TestClient, headers: Any, world: dict[str, str], ledger: LedgerApplication
) -> None:
    grant = world["grant"]
    etag = client.get(f"/v1/grants/{grant}").headers["etag"]
    results: list[int] = []
    lock = threading.Lock()

    def racer() -> None:
        response = disburse(client, headers, grant, 1_000_000_000, **{"If-Match": etag})
        with lock:
            results.append(response.status_code)
        if response.status_code == 409:
            assert response.json()["type"].endswith("version-conflict")

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] + [409] * 7
    assert client.get(f"/v1/grants/{grant}").json()["disbursed"] == 1_000_000_000


def test_openapi_documents_every_route_with_descriptions(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert "/v1/grants/{grant_id}/disbursements" in paths
    commit = schema["components"]["schemas"]["CommitGrant"]["properties"]
    assert all("description" in v for v in commit.values()), commit
