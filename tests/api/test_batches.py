"""POST /v1/batches through the real app: each item answered as the single route would."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from ledger.api.recording import RECORDINGS
from ledger.application.app import LedgerApplication
from tests.api.test_api import GRANT, assert_problem, world  # noqa: F401 (fixture)
from tests.conftest import token

PAID = {"amount": 1_000_000, "value_date": "2024-03-01", "payment_reference": "PP-B"}
SPENT = {"amount": 500_000, "category": "equipment", "value_date": "2024-03-02", "reference": "I-1"}


def batch(client: TestClient, items: list[dict[str, Any]], **extra: Any) -> Any:
    return client.post("/v1/batches", json={"items": items, **extra})


def item(path: str, key: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"path": path, "idempotency_key": key, "body": body, **extra}


def head(client: TestClient) -> int:
    ledger: LedgerApplication = client.app.state.ledger  # type: ignore[attr-defined]
    return ledger.log_head()


def disbursed(client: TestClient, grant: str) -> int:
    return int(client.get(f"/v1/grants/{grant}").json()["disbursed"])


def test_every_recording_route_is_in_the_batch_table(client: TestClient) -> None:
    """A recording route (one that takes an Idempotency-Key) left out of the table would
    be refused in a batch; one in the table that is not a route could never be called."""
    paths = client.get("/openapi.json").json()["paths"]
    recording_routes = {
        path
        for path, operations in paths.items()
        if any(
            p["name"].lower() == "idempotency-key"
            for p in operations.get("post", {}).get("parameters", [])
        )
    }
    # An import is a file upload, not a JSON request a batch could carry; its lines are
    # themselves recorded through the batch service.
    assert recording_routes - {"/v1/imports"} == {r.template for r in RECORDINGS}


def test_mixed_items_answer_as_their_single_routes(
    client: TestClient,
    headers: Any,
    world: dict[str, str],  # noqa: F811
) -> None:
    grant = world["grant"]
    path = f"/v1/grants/{grant}/disbursements"
    items = [
        item(path, "batch-mixed-001", PAID),
        item(path, "batch-mixed-002", {**PAID, "amount": GRANT}),  # overdraw
        item("/v1/nowhere", "batch-mixed-003", PAID),
        item(path, "batch-mixed-004", {**PAID, "amount": "100"}),  # not an integer
        item("/v1/grants/not-a-uuid/disbursements", "batch-mixed-005", PAID),
        item(path, "bad key", PAID),
        item(
            "/v1/schools/aktobe-khromtau-hub/expenditures",
            "batch-mixed-007",
            {
                "amount": 500_000,
                "category": "equipment",
                "value_date": "2024-03-02",
                "reference": "INV-1",
            },
        ),
    ]
    before = head(client)
    response = batch(client, items)
    assert response.status_code == 200, response.text
    result = response.json()
    assert [a["status"] for a in result["items"]] == [201, 409, 404, 422, 422, 400, 201]
    assert result["recorded"] == 2 and result["refused"] == 5 and result["refused_item"] is None
    # The same requests, one by one, answer the same statuses and problem types.
    for n, (it, answer) in enumerate(zip(items, result["items"], strict=True)):
        key = "bad key" if it["idempotency_key"] == "bad key" else f"single-{n:04d}"
        single = client.post(it["path"], json=it["body"], headers=headers(key=key))
        assert single.status_code == answer["status"], (n, single.text)
        if single.status_code >= 400:
            assert single.json()["type"] == answer["body"]["type"]
            if single.status_code == 422:
                assert single.json()["errors"] == answer["body"]["errors"]
        else:
            assert set(single.json()) == set(answer["body"])
    # One disbursement recorded by the batch and one by the singles.
    assert disbursed(client, grant) == 2 * 1_000_000
    assert head(client) > before
    recorded = result["items"][0]["body"]
    assert recorded["position"] > before and recorded["entry_id"]


def test_an_atomic_batch_records_everything_or_nothing(
    client: TestClient,
    world: dict[str, str],  # noqa: F811
) -> None:
    grant = world["grant"]
    path = f"/v1/grants/{grant}/disbursements"
    # The third does not fit after the first two: nothing is recorded.
    third = GRANT - 2 * 1_000_000 + 1
    items = [
        item(path, "atomic-no-0001", PAID),
        item(path, "atomic-no-0002", PAID),
        item(path, "atomic-no-0003", {**PAID, "amount": third}),
    ]
    before = head(client)
    result = batch(client, items, atomic=True).json()
    assert result["refused_item"] == 2
    assert [a["status"] for a in result["items"]] == [424, 424, 409]
    assert result["items"][2]["body"]["type"].endswith("exceeds-undisbursed-commitment")
    assert result["items"][0]["body"]["type"].endswith("not-recorded")
    assert result["recorded"] == 0
    assert head(client) == before
    assert disbursed(client, grant) == 0
    # Each decided on the state the previous one left: exactly the whole grant fits.
    items[2] = item(path, "atomic-ok-0003", {**PAID, "amount": third - 1})
    items[0]["idempotency_key"], items[1]["idempotency_key"] = "atomic-ok-0001", "atomic-ok-0002"
    result = batch(client, items, atomic=True).json()
    assert [a["status"] for a in result["items"]] == [201, 201, 201], result
    assert result["recorded"] == 3 and result["refused_item"] is None
    positions = [a["body"]["position"] for a in result["items"]]
    assert positions == sorted(positions)
    assert disbursed(client, grant) == GRANT


def test_an_atomic_batch_with_a_malformed_item_records_nothing(
    client: TestClient,
    world: dict[str, str],  # noqa: F811
) -> None:
    path = f"/v1/grants/{world['grant']}/disbursements"
    before = head(client)
    result = batch(
        client,
        [item(path, "atomic-bad-001", PAID), item(path, "atomic-bad-002", {"amount": 1.5})],
        atomic=True,
    ).json()
    assert [a["status"] for a in result["items"]] == [424, 422]
    assert result["refused_item"] == 1
    assert head(client) == before


def test_a_retried_batch_replays_each_item_and_shares_keys_with_single_requests(
    client: TestClient,
    headers: Any,
    world: dict[str, str],  # noqa: F811
) -> None:
    path = f"/v1/grants/{world['grant']}/disbursements"
    items = [item(path, f"retry-batch-{n:03d}", {**PAID, "amount": 1_000 + n}) for n in range(20)]
    first = batch(client, items).json()
    assert first["recorded"] == 20
    before = head(client)
    again = batch(client, items).json()
    assert again["recorded"] == 0 and again["replayed"] == 20
    assert [a["body"] for a in again["items"]] == [a["body"] for a in first["items"]]
    assert all(a["replayed"] for a in again["items"])
    assert head(client) == before
    # A single request under an item's key replays the item; another body is refused.
    single = client.post(path, json=items[3]["body"], headers=headers(key="retry-batch-003"))
    assert single.status_code == 201 and single.headers["idempotent-replayed"] == "true"
    assert single.json() == first["items"][3]["body"]
    reused = client.post(path, json=PAID, headers=headers(key="retry-batch-003"))
    assert_problem(reused, 422, "idempotency-key-reused")
    # And a batch item under a single request's key with another body is refused too.
    other = batch(client, [item(path, "retry-batch-003", PAID)]).json()
    assert other["items"][0]["status"] == 422
    assert other["items"][0]["body"]["type"].endswith("idempotency-key-reused")
    assert disbursed(client, world["grant"]) == sum(1_000 + n for n in range(20))


def test_each_item_is_authorized_by_its_own_route(
    client: TestClient,
    world: dict[str, str],  # noqa: F811
) -> None:
    path = f"/v1/grants/{world['grant']}/disbursements"
    officer = {"Authorization": f"Bearer {token('olga', ['officer'])}"}
    items = [
        item(path, "authz-item-001", PAID),
        item("/v1/periods/2024-01/close", "authz-item-002", {"reason": "books closed"}),
    ]
    result = client.post("/v1/batches", json={"items": items}, headers=officer).json()
    assert [a["status"] for a in result["items"]] == [201, 403]
    assert result["items"][1]["body"]["type"].endswith("forbidden")
    viewer = {"Authorization": f"Bearer {token('vera', ['viewer'])}"}
    refused = client.post("/v1/batches", json={"items": items}, headers=viewer)
    assert_problem(refused, 403, "forbidden")
    assert disbursed(client, world["grant"]) == 1_000_000


def test_a_batch_over_the_limit_or_malformed_is_refused_whole(
    client: TestClient,
    world: dict[str, str],  # noqa: F811
) -> None:
    path = f"/v1/grants/{world['grant']}/disbursements"
    before = head(client)
    items = [item(path, f"too-many-{n:05d}", PAID) for n in range(1001)]
    body = assert_problem(batch(client, items), 422, "validation-error")
    assert any("items" in e["field"] for e in body["errors"])
    assert_problem(batch(client, [{"idempotency_key": "no-path-0001", "body": PAID}]),
                   422, "validation-error")  # fmt: skip
    assert_problem(batch(client, []), 422, "validation-error")
    assert head(client) == before


def test_a_thousand_items_record_in_one_call(
    client: TestClient,
    world: dict[str, str],  # noqa: F811
) -> None:
    path = f"/v1/grants/{world['grant']}/disbursements"
    items = [item(path, f"thousand-{n:05d}", {**PAID, "amount": 100}) for n in range(1000)]
    result = batch(client, items).json()
    assert result["recorded"] == 1000, result["items"][:3]
    assert disbursed(client, world["grant"]) == 100_000
