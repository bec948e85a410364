"""Finding things through the real app: lists with filters and cursors, paged balances."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from contracts.regions import REGION_SLUGS
from ledger.application.app import LedgerApplication
from ledger.application.approval_policy import ApprovalPolicy
from ledger.infrastructure.settings import eventsourcing_env

GRANT = 25_000_000_000
BIG = 20_000_000_000  # above the four-eyes threshold: reserved, pending
SMALL = 1_000_000_000  # posted at once


@pytest.fixture
def ledger(store_url: str) -> Iterator[LedgerApplication]:
    """As `ledger serve` builds it: the four-eyes threshold is on."""
    application = LedgerApplication(
        eventsourcing_env(store_url, pool_size=20), approvals=ApprovalPolicy()
    )
    yield application
    application.close()


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def post(client: TestClient, headers: Any, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body, headers=headers())
    assert response.status_code in (201, 202), response.text
    return response.json()


@pytest.fixture
def world(client: TestClient, headers: Any) -> dict[str, Any]:
    """Two donors, a programme, a hub with two small schools and one in another region;
    three grants: one open with a pending disbursement, one fully disbursed, one cancelled."""
    post(client, headers, "/v1/donors", {"code": "qazaqstan-halqyna", "name": "Qazaqstan Halqyna"})
    post(client, headers, "/v1/donors", {"code": "aitas", "name": "AITAS Holding"})
    post(client, headers, "/v1/programmes", {"code": "hub-schools", "name": "Hub schools"})
    post(client, headers, "/v1/programmes", {"code": "digital", "name": "Digital classrooms"})
    base = {"region": "aktobe", "district": "Khromtau"}
    schools = [
        {"code": "khromtau-hub", "name": "Khromtau hub school", "school_type": "hub", **base},
        {"code": "tasotkel", "name": "Tasotkel", "school_type": "small", "hub": "khromtau-hub",
         **base},
        {"code": "kudaykol", "name": "Kudaykol", "school_type": "small", "hub": "khromtau-hub",
         **base},
        {"code": "arkalyk-hub", "name": "Arkalyk hub", "school_type": "hub",
         "region": "kostanay", "district": "Arkalyk"},
    ]  # fmt: skip
    for s in schools:
        post(client, headers, "/v1/schools", s)

    def commit(school: str, donor: str, programme: str | None, ref: str) -> str:
        body = {"donor": donor, "school": school, "amount": GRANT, "value_date": "2024-01-15",
                "reference": ref, "programme": programme}  # fmt: skip
        grant_id: str = post(client, headers, "/v1/grants", body)["grant_id"]
        return grant_id

    open_ = commit("khromtau-hub", "qazaqstan-halqyna", "hub-schools", "AGR-1")
    paid = commit("tasotkel", "qazaqstan-halqyna", "digital", "AGR-2")
    cancelled = commit("arkalyk-hub", "aitas", None, "AGR-3")
    pay = {"value_date": "2024-02-01", "payment_reference": "PP-1"}
    post(client, headers, f"/v1/grants/{open_}/disbursements", {"amount": SMALL, **pay})
    pending = post(client, headers, f"/v1/grants/{open_}/disbursements", {"amount": BIG, **pay})
    assert pending["status"] == "pending"
    for _ in range(5):
        post(client, headers, f"/v1/grants/{paid}/disbursements", {"amount": GRANT // 5, **pay})
    last = post(
        client, headers, f"/v1/grants/{cancelled}/cancellation",
        {"value_date": "2024-03-01", "reason": "school closed"},
    )  # fmt: skip
    spent = post(
        client, headers, "/v1/schools/khromtau-hub/expenditures",
        {"amount": 100, "category": "equipment", "value_date": "2024-03-01", "reference": "I-1"},
    )  # fmt: skip
    assert spent["position"] > last["position"]
    return {"open": open_, "paid": paid, "cancelled": cancelled, "at": spent["position"]}


def codes(body: dict[str, Any], key: str) -> list[str]:
    return [x["code"] for x in body[key]]


def test_schools_filter_by_region_type_hub_and_text(
    client: TestClient, world: dict[str, Any]
) -> None:
    at = {"min_position": world["at"]}
    every = ok(client.get("/v1/schools", params=at))
    assert codes(every, "schools") == ["arkalyk-hub", "khromtau-hub", "kudaykol", "tasotkel"]
    assert every["next_after"] is None
    assert every["schools"][0] == {
        "code": "arkalyk-hub", "name": "Arkalyk hub", "school_type": "hub",
        "region": "kostanay", "district": "Arkalyk", "hub": None,
    }  # fmt: skip
    region = ok(client.get("/v1/schools", params={**at, "region": "aktobe"}))
    assert codes(region, "schools") == ["khromtau-hub", "kudaykol", "tasotkel"]
    hubs = ok(client.get("/v1/schools", params={**at, "type": "hub"}))
    assert codes(hubs, "schools") == ["arkalyk-hub", "khromtau-hub"]
    small = ok(client.get("/v1/schools", params={**at, "hub": "khromtau-hub"}))
    assert codes(small, "schools") == ["kudaykol", "tasotkel"]
    by_name = ok(client.get("/v1/schools", params={**at, "q": "HUB SCHOOL"}))
    assert codes(by_name, "schools") == ["khromtau-hub"]
    by_code = ok(client.get("/v1/schools", params={**at, "q": "kol"}))
    assert codes(by_code, "schools") == ["kudaykol"]
    literal = ok(client.get("/v1/schools", params={**at, "q": "%"}))
    assert literal["schools"] == []  # a LIKE wildcard is searched for, not expanded
    bad = client.get("/v1/schools", params={"region": "atlantis"})
    assert bad.status_code == 422 and "aktobe" in bad.text


def test_lists_page_with_a_cursor(client: TestClient, world: dict[str, Any]) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"min_position": world["at"], "limit": 3}
    while True:
        page = ok(client.get("/v1/schools", params=params))
        seen += codes(page, "schools")
        if page["next_after"] is None:
            break
        params["after"] = page["next_after"]
    assert seen == ["arkalyk-hub", "khromtau-hub", "kudaykol", "tasotkel"]
    donors = ok(client.get("/v1/donors", params={"limit": 1}))
    assert codes(donors, "donors") == ["aitas"] and donors["next_after"] == "aitas"
    rest = ok(client.get("/v1/donors", params={"limit": 1, "after": "aitas"}))
    assert rest["donors"] == [{"code": "qazaqstan-halqyna", "name": "Qazaqstan Halqyna"}]
    found = ok(client.get("/v1/donors", params={"q": "holding"}))
    assert codes(found, "donors") == ["aitas"]
    programmes = ok(client.get("/v1/programmes", params={"q": "digital"}))
    assert programmes["programmes"] == [{"code": "digital", "name": "Digital classrooms"}]


def test_grants_list_with_figures_status_and_filters(
    client: TestClient, world: dict[str, Any]
) -> None:
    at = {"min_position": world["at"]}
    body = ok(client.get("/v1/grants", params=at))
    by_id = {g["grant_id"]: g for g in body["grants"]}
    assert [g["grant_id"] for g in body["grants"]] == [
        world["open"],
        world["paid"],
        world["cancelled"],
    ]
    opened = by_id[world["open"]]
    assert opened["committed"] == GRANT and opened["disbursed"] == SMALL
    assert opened["reserved"] == BIG
    assert opened["available"] == GRANT - SMALL - BIG
    assert opened["status"] == "open" and opened["reference"] == "AGR-1"
    assert by_id[world["paid"]]["status"] == "fully-disbursed"
    assert by_id[world["cancelled"]]["status"] == "cancelled"
    assert by_id[world["cancelled"]]["committed"] == 0

    def ids(**params: str) -> list[str]:
        return [
            g["grant_id"] for g in ok(client.get("/v1/grants", params={**at, **params}))["grants"]
        ]

    assert ids(status="open") == [world["open"]]
    assert ids(status="fully-disbursed") == [world["paid"]]
    assert ids(status="cancelled") == [world["cancelled"]]
    assert ids(school="tasotkel") == [world["paid"]]
    assert ids(donor="aitas") == [world["cancelled"]]
    assert ids(programme="hub-schools") == [world["open"]]
    assert ids(donor="qazaqstan-halqyna", status="open") == [world["open"]]
    first = ok(client.get("/v1/grants", params={**at, "limit": 2}))
    rest = ok(client.get("/v1/grants", params={**at, "after": first["next_after"]}))
    assert [g["grant_id"] for g in first["grants"] + rest["grants"]] == list(by_id)
    assert rest["next_after"] is None


def test_grant_view_shows_reserved_and_available(client: TestClient, world: dict[str, Any]) -> None:
    grant = ok(client.get(f"/v1/grants/{world['open']}"))
    assert grant["undisbursed"] == GRANT - SMALL
    assert grant["reserved"] == BIG and grant["pending_items"] == 1
    assert grant["available"] == GRANT - SMALL - BIG
    params = {"grant_id": world["open"], "min_position": world["at"]}
    items = ok(client.get("/v1/approvals/pending", params=params))["items"]
    assert [(i["grant_id"], i["amount"]) for i in items] == [(world["open"], BIG)]
    other = {"grant_id": world["paid"], "min_position": world["at"]}
    assert ok(client.get("/v1/approvals/pending", params=other))["items"] == []


def test_regions_are_listed_and_an_enum(client: TestClient, world: dict[str, Any]) -> None:
    body = ok(client.get("/v1/regions", params={"min_position": world["at"]}))
    assert [r["code"] for r in body["regions"]] == list(REGION_SLUGS)
    counts = {r["code"]: r["schools"] for r in body["regions"]}
    assert counts["aktobe"] == 3 and counts["kostanay"] == 1 and counts["astana"] == 0
    schema = ok(client.get("/openapi.json"))["components"]["schemas"]["RegisterSchool"]
    assert schema["properties"]["region"]["enum"] == list(REGION_SLUGS)


def test_journal_kind_filter(client: TestClient, world: dict[str, Any]) -> None:
    params = {"min_position": world["at"], "school": "khromtau-hub", "kind": "expenditure"}
    entries = ok(client.get("/v1/journal", params=params))["entries"]
    assert [e["kind"] for e in entries] == ["expenditure"]
    both = ok(client.get("/v1/journal?kind=commitment&kind=reduction"))["entries"]
    assert sorted(e["kind"] for e in both) == ["commitment"] * 3 + ["reduction"]
    bad = client.get("/v1/journal", params={"kind": "gift"})
    assert bad.status_code == 422


def test_account_balances_and_trial_balance_are_paged(
    client: TestClient, world: dict[str, Any]
) -> None:
    at = {"min_position": world["at"]}
    whole = ok(client.get("/v1/balances/accounts", params=at))["accounts"]
    assert len(whole) > 4
    paged: list[Any] = []
    params: dict[str, Any] = {**at, "limit": 3}
    while True:
        page = ok(client.get("/v1/balances/accounts", params=params))
        assert len(page["accounts"]) <= 3
        paged += page["accounts"]
        if page["next_after"] is None:
            break
        params["after"] = page["next_after"]
    assert paged == whole
    full = ok(client.get("/v1/balances/trial-balance", params=at))
    first = ok(client.get("/v1/balances/trial-balance", params={**at, "limit": 2}))
    assert first["accounts"] == full["accounts"][:2]
    assert first["totals"] == full["totals"] and first["balanced"] is True
    second = ok(
        client.get(
            "/v1/balances/trial-balance", params={**at, "limit": 2, "after": first["next_after"]}
        )
    )
    assert second["accounts"] == full["accounts"][2:4]


def test_viewers_list_the_registry_but_not_grants(
    client: TestClient, headers: Any, world: dict[str, Any]
) -> None:
    viewer = headers(roles=["viewer"])
    for path in ("/v1/schools", "/v1/donors", "/v1/programmes", "/v1/regions"):
        assert client.get(path, headers=viewer).status_code == 200, path
    assert client.get("/v1/grants", headers=viewer).status_code == 403
    auditor = headers(roles=["auditor"])
    assert client.get("/v1/grants", headers=auditor).status_code == 200
