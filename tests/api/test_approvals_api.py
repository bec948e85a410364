"""Maker-checker and fiscal periods through the real app, with the production threshold."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.application.app import LedgerApplication
from ledger.application.approval_policy import ApprovalPolicy
from ledger.application.unit_of_work import Context
from ledger.infrastructure.settings import Settings
from projections.pending import overdue_in
from projections.rebuild import verify
from server.app import create_app
from server.bootstrap import build_ledger
from server.sweeper import sweep_once
from tests.conftest import app_settings

GRANT = 25_000_000_000
BIG = 20_000_000_000  # 200,000,000 KZT: above the default 50,000,000 KZT threshold
SMALL = 5_000_000_000  # exactly the threshold: posted at once
PROBLEM = "application/problem+json"


@pytest.fixture
def ledger(store_url: str) -> Iterator[LedgerApplication]:
    """The application as `ledger serve` builds it: default four-eyes threshold."""
    application = build_ledger(
        Settings(database_url=store_url, pool_size=20, period_refresh_seconds=0)
    )
    yield application
    application.close()


def ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:grant-ledger:problem:{code}"
    return body


@pytest.fixture
def grant(client: TestClient, headers: Any) -> str:
    return new_grant(client, headers)


def new_grant(client: TestClient, headers: Any) -> str:
    """A donor, a hub school, and a 250,000,000 KZT grant between them; the grant's id."""
    for path, body in [
        ("/v1/donors", {"code": "qazaqstan-halqyna", "name": "Qazaqstan halqyna"}),
        ("/v1/schools", {"code": "khromtau", "name": "Khromtau hub", "school_type": "hub",
                         "region": "aktobe", "district": "Khromtau"}),
    ]:  # fmt: skip
        ok(client.post(path, json=body, headers=headers()))
    committed = client.post(
        "/v1/grants",
        json={"donor": "qazaqstan-halqyna", "school": "khromtau", "amount": GRANT,
              "value_date": "2025-01-10", "reference": "AGR-2025-1"},
        headers=headers(),
    )  # fmt: skip
    return str(ok(committed)["grant_id"])


def pay(client: TestClient, headers: Any, grant: str, amount: int, day: str = "2025-03-05",
        **h: str) -> Any:  # fmt: skip
    return client.post(
        f"/v1/grants/{grant}/disbursements",
        json={"amount": amount, "value_date": day, "payment_reference": "PP-2025-7"},
        headers=headers(**h),
    )


def test_four_eyes_end_to_end(client: TestClient, headers: Any, grant: str) -> None:
    posted = ok(pay(client, headers, grant, SMALL), 201)
    assert "status" not in posted
    response = pay(client, headers, grant, BIG, actor="aigerim")
    pending = ok(response, 202)
    assert pending["status"] == "pending" and pending["grant_id"] == grant
    assert response.headers["x-entry-id"] == pending["entry_id"]
    expires = dt.datetime.fromisoformat(pending["expires_at"])
    assert dt.timedelta(hours=71) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=72)

    at = {"min_position": pending["position"]}
    listed = ok(client.get("/v1/approvals/pending", params=at, headers=headers()), 200)
    [item] = listed["items"]
    assert (item["entry_id"], item["amount"], item["requested_by"], item["status"]) == (
        pending["entry_id"], BIG, "aigerim", "pending",
    )  # fmt: skip
    school = ok(client.get("/v1/balances/schools/khromtau", params=at, headers=headers()), 200)
    assert school["figures"][0]["received"] == SMALL
    assert school["pending"] == [
        {"currency": "KZT", "pending": BIG, "items": 1, "available": GRANT - SMALL - BIG}
    ]
    donor = ok(
        client.get("/v1/balances/donors/qazaqstan-halqyna", params=at, headers=headers()), 200
    )
    assert donor["figures"][0]["undisbursed_commitment"] == GRANT - SMALL
    assert donor["pending"][0]["available"] == GRANT - SMALL - BIG
    problem(pay(client, headers, grant, SMALL + 1), 409, "exceeds-undisbursed-commitment")

    entry = pending["entry_id"]
    own = client.post(
        f"/v1/approvals/{entry}/approve", json={"reason": "fine"}, headers=headers(actor="aigerim")
    )
    problem(own, 403, "self-approval-forbidden")
    approved = client.post(
        f"/v1/approvals/{entry}/approve", json={"reason": "checked against the contract"},
        headers=headers(actor="daniyar"),
    )  # fmt: skip
    decided = ok(approved)
    assert (decided["status"], decided["entry_id"]) == ("approved", entry)
    problem(
        client.post(f"/v1/approvals/{entry}/reject", json={"reason": "x"}, headers=headers()),
        409, "not-pending",
    )  # fmt: skip

    at = {"min_position": decided["position"]}
    assert ok(client.get("/v1/approvals/pending", params=at, headers=headers()), 200)["items"] == []
    done = ok(
        client.get("/v1/approvals/pending", params={**at, "status": "approved"}, headers=headers()),
        200,
    )["items"]
    assert [(i["entry_id"], i["decided_by"]) for i in done] == [(entry, "daniyar")]
    journal = ok(client.get("/v1/journal", params={**at, "grant_id": grant}, headers=headers()),
                 200)["entries"]  # fmt: skip
    posted_entry = next(e for e in journal if e["entry_id"] == entry)
    assert (posted_entry["kind"], posted_entry["actor"], posted_entry["amount"]) == (
        "disbursement", "daniyar", BIG,
    )  # fmt: skip
    assert sum(p["amount"] for p in posted_entry["postings"]) == 0
    school = ok(client.get("/v1/balances/schools/khromtau", params=at, headers=headers()), 200)
    assert school["figures"][0]["received"] == SMALL + BIG and school["pending"] == []
    trial = ok(client.get("/v1/balances/trial-balance", params=at, headers=headers()), 200)
    assert trial["balanced"]
    assert verify(client.app.state.read_side.runner) == []  # type: ignore[attr-defined]


def test_rejected_and_expired_requests_release_their_reservation(
    client: TestClient, headers: Any, grant: str, ledger: LedgerApplication
) -> None:
    first = ok(pay(client, headers, grant, BIG), 202)
    rejected = ok(client.post(
        f"/v1/approvals/{first['entry_id']}/reject", json={"reason": "wrong bank account"},
        headers=headers(actor="daniyar"),
    ))  # fmt: skip
    assert rejected["status"] == "rejected"
    ledger.approvals = ApprovalPolicy(ttl=dt.timedelta(milliseconds=1))
    second = ok(pay(client, headers, grant, BIG), 202)
    time.sleep(0.01)
    late = client.post(
        f"/v1/approvals/{second['entry_id']}/approve", json={"reason": "ok"},
        headers=headers(actor="daniyar"),
    )  # fmt: skip
    problem(late, 409, "approval-expired")
    read_side = client.app.state.read_side  # type: ignore[attr-defined]
    ok(client.get("/v1/approvals/pending", params={"min_position": second["position"]},
                  headers=headers()), 200)  # fmt: skip
    due = lambda now: overdue_in(read_side.store, now)  # noqa: E731
    expire = lambda entry_id, now: ledger.expire_disbursement(entry_id, now=now)  # noqa: E731
    assert sweep_once(due, expire) == [second["entry_id"]]
    head = ledger.log_head()
    expired = ok(client.get("/v1/approvals/pending", params={"status": "expired",
                 "min_position": head}, headers=headers()), 200)["items"]  # fmt: skip
    assert [(i["entry_id"], i["decided_by"]) for i in expired] == [
        (second["entry_id"], "system-expiry")
    ]
    school = ok(client.get("/v1/balances/schools/khromtau", headers=headers()), 200)
    assert school["pending"] == []
    assert ok(client.get(f"/v1/grants/{grant}", headers=headers()), 200)["undisbursed"] == GRANT
    assert verify(read_side.runner) == []


def test_decisions_on_unknown_or_bad_entries(client: TestClient, headers: Any, grant: str) -> None:
    head = client.app.state.ledger.log_head()  # type: ignore[attr-defined]
    unknown = "00000000-0000-4000-8000-000000000000"
    problem(client.post(f"/v1/approvals/{unknown}/approve", json={"reason": "x"},
                        headers=headers()), 404, "not-found")  # fmt: skip
    problem(client.post("/v1/approvals/not-a-uuid/approve", json={"reason": "x"},
                        headers=headers()), 422, "validation-error")  # fmt: skip
    pending = ok(pay(client, headers, grant, BIG), 202)
    for body in ({}, {"reason": ""}, {"reason": "x", "extra": 1}, {"reason": "x" * 501}):
        problem(client.post(f"/v1/approvals/{pending['entry_id']}/approve", json=body,
                            headers=headers(actor="daniyar")), 422, "validation-error")  # fmt: skip
    keyless = {k: v for k, v in headers(actor="daniyar").items() if k != "Idempotency-Key"}
    approve = f"/v1/approvals/{pending['entry_id']}/approve"
    problem(client.post(approve, json={"reason": "x"}, headers=keyless), 400,
            "idempotency-key-required")  # fmt: skip
    app_ledger = client.app.state.ledger  # type: ignore[attr-defined]
    assert app_ledger.log_head() == pending["position"] > head


def test_closing_periods(client: TestClient, headers: Any, grant: str) -> None:
    assert ok(client.get("/v1/periods", headers=headers()), 200) == {
        "closed": [], "history": [], "version": 0,
    }  # fmt: skip
    closed = ok(client.post("/v1/periods/2025-03/close", json={"reason": "March books"},
                            headers=headers(actor="daniyar")))  # fmt: skip
    assert (closed["period"], closed["status"]) == ("2025-03", "closed")
    head = client.app.state.ledger.log_head()  # type: ignore[attr-defined]
    refusal = problem(pay(client, headers, grant, SMALL, day="2025-03-31"), 409, "period-closed")
    assert "2025-03" in refusal["detail"]
    problem(pay(client, headers, grant, BIG, day="2025-03-01"), 409, "period-closed")
    problem(client.post("/v1/periods/2025-03/close", json={"reason": "again"},
                        headers=headers()), 409, "period-state")  # fmt: skip
    problem(client.post("/v1/periods/2025-3/close", json={"reason": "x"}, headers=headers()),
            422, "validation-error")  # fmt: skip
    problem(client.post("/v1/periods/2025-04/reopen", json={"reason": "x"}, headers=headers()),
            409, "period-state")  # fmt: skip
    assert client.app.state.ledger.log_head() == head  # type: ignore[attr-defined]
    ok(pay(client, headers, grant, SMALL, day="2025-04-01"))

    ok(client.post("/v1/periods/2025-Q2/close", json={"reason": "Q2"}, headers=headers()))
    ok(client.post("/v1/periods/2025-03/reopen", json={"reason": "late statement"},
                   headers=headers(actor="daniyar")))  # fmt: skip
    listed = client.get("/v1/periods", headers=headers())
    body = ok(listed, 200)
    assert listed.headers["etag"] == f'"{body["version"]}"'
    closed_at = body["closed"][0].pop("closed_at")
    assert closed_at is not None
    assert body["closed"] == [{"period": "2025-Q2", "start": "2025-04-01", "end": "2025-06-30",
                               "closed_by": "alice", "reason": "Q2"}]  # fmt: skip
    assert [(h["period"], h["action"], h["by"]) for h in body["history"]] == [
        ("2025-03", "closed", "daniyar"), ("2025-Q2", "closed", "alice"),
        ("2025-03", "reopened", "daniyar"),
    ]  # fmt: skip
    ok(pay(client, headers, grant, SMALL, day="2025-03-31"))
    problem(pay(client, headers, grant, SMALL, day="2025-05-31"), 409, "period-closed")


def test_the_served_app_sweeps_overdue_requests(
    ledger: LedgerApplication, store_url: str, headers: Any
) -> None:
    """The sweeper runs inside the app's lifespan (as in `ledger serve`)."""
    settings = app_settings(store_url, expiry_sweep_seconds=1, read_wait_seconds=1.0)
    with TestClient(create_app(settings, ledger=ledger)) as client:
        grant_id = new_grant(client, headers)
        ledger.approvals = ApprovalPolicy(ttl=dt.timedelta(milliseconds=1))
        pending = ok(pay(client, headers, grant_id, BIG), 202)
        deadline = time.monotonic() + 10
        expired: list[Any] = []
        while not expired and time.monotonic() < deadline:
            time.sleep(0.2)
            expired = ok(client.get("/v1/approvals/pending", params={"status": "expired"},
                                    headers=headers()), 200)["items"]  # fmt: skip
        assert [i["entry_id"] for i in expired] == [pending["entry_id"]]


def _approval_gauges(client: TestClient, headers: Any) -> dict[str, int]:
    text = client.get("/metrics", headers=headers()).text
    return {
        line.split(" ")[0]: int(float(line.split(" ")[1]))
        for line in text.splitlines()
        if line.startswith("ledger_approvals_")
    }


def test_pending_and_overdue_are_scraped(
    client: TestClient, headers: Any, grant: str, ledger: LedgerApplication
) -> None:
    pending = ok(pay(client, headers, grant, BIG), 202)
    deadline = time.monotonic() + 10
    gauges: dict[str, int] = {}
    while time.monotonic() < deadline:
        gauges = _approval_gauges(client, headers)
        if gauges.get('ledger_approvals_pending_items{currency="KZT"}') == 1:
            break
        time.sleep(0.1)
    assert gauges['ledger_approvals_pending_items{currency="KZT"}'] == 1
    assert gauges['ledger_approvals_pending_minor_units{currency="KZT"}'] == BIG
    assert gauges['ledger_approvals_overdue_items{currency="KZT"}'] == 0
    decided = client.post(
        f"/v1/approvals/{pending['entry_id']}/approve",
        json={"reason": "checked"},
        headers=headers(actor="bob", roles=["approver"]),
    )
    position = ok(decided)["position"]
    client.get("/v1/approvals/pending", params={"min_position": position}, headers=headers())
    assert not any("KZT" in k for k in _approval_gauges(client, headers))


def test_no_caller_can_block_the_expiry_sweeper(
    client: TestClient, headers: Any, grant: str, ledger: LedgerApplication
) -> None:
    # The attack: take the claim the sweeper keys an expiry by, so the expiry replays
    # someone else's answer (or is refused as a reused key) and the reservation stays.
    ledger.approvals = ApprovalPolicy(ttl=dt.timedelta(milliseconds=1))
    entry = ok(pay(client, headers, grant, BIG), 202)["entry_id"]
    for key in (f"expire-{entry}", f"system-expire-{entry}"):
        taken = client.post(
            "/v1/donors", json={"code": "blocker", "name": "Blocker"},
            headers=headers(key=key, actor="system-expiry"),
        )  # fmt: skip
        problem(taken, 401, "unauthenticated")
    # A claim under the old key form, taken before system subjects were reserved, no
    # longer blocks: system commands are keyed in their own form.
    ledger.register_donor(
        Context(actor="system-expiry", idempotency_key=f"expire-{entry}"), code="blocker",
        name="Blocker",
    )  # fmt: skip
    time.sleep(0.01)
    read_side = client.app.state.read_side  # type: ignore[attr-defined]
    ok(client.get("/v1/approvals/pending", params={"min_position": ledger.log_head()},
                  headers=headers()), 200)  # fmt: skip
    due = lambda now: overdue_in(read_side.store, now)  # noqa: E731
    expire = lambda entry_id, now: ledger.expire_disbursement(entry_id, now=now)  # noqa: E731
    assert sweep_once(due, expire) == [entry]
    at = {"min_position": ledger.log_head()}
    school = ok(client.get("/v1/balances/schools/khromtau", params=at, headers=headers()), 200)
    assert school["pending"] == []
