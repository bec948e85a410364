"""Bank accounts of schools and donors: registered, changed, closed, one holder at a time."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context
from ledger.domain.errors import AlreadyExists
from tests.imports.statements import FUND, SCHOOL, SUPPLIER

Headers = Callable[..., dict[str, str]]


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def parties(client: TestClient, headers: Headers) -> None:
    ok(client.post("/v1/donors", json={"code": "fund", "name": "Fund"}, headers=headers()), 201)
    ok(client.post("/v1/donors", json={"code": "other", "name": "Other"}, headers=headers()), 201)
    school = {"code": "khromtau-hub", "name": "Khromtau", "school_type": "hub",
              "region": "aktobe", "district": "Khromtau"}  # fmt: skip
    ok(client.post("/v1/schools", json=school, headers=headers()), 201)


def account(org: Any, valid_from: str = "2024-01-01") -> dict[str, Any]:
    return {
        "iik": org.iik,
        "bic": org.bic,
        "bin": org.bin,
        "kbe": org.kbe,
        "valid_from": valid_from,
    }


@pytest.mark.usefixtures("parties")
def test_register_change_close_and_list(client: TestClient, headers: Headers) -> None:
    base = "/v1/schools/khromtau-hub/bank-accounts"
    spaced = {**account(SCHOOL), "iik": " ".join(SCHOOL.iik[i : i + 4] for i in range(0, 20, 4))}
    response = client.post(base, json=spaced, headers=headers())
    got = ok(response, 201)
    assert response.headers["Location"] == base
    assert (got["iik"], got["status"], got["party"]) == (SCHOOL.iik, "open", "khromtau-hub")
    change = {"bic": "HSBKKZKX", "bin": SCHOOL.bin, "kbe": "16", "valid_from": "2025-01-01"}
    ok(client.post(f"{base}/{SCHOOL.iik}/changes", json=change, headers=headers()), 201)
    close = {"valid_to": "2025-06-30", "reason": "moved to another bank"}
    got = ok(client.post(f"{base}/{SCHOOL.iik}/closure", json=close, headers=headers()), 201)
    assert got["status"] == "closed"
    (listed,) = ok(client.get(base))["accounts"]
    assert listed["status"] == "closed"
    assert [(h["bic"], h["valid_from"], h["valid_to"]) for h in listed["holdings"]] == [
        (SCHOOL.bic, "2024-01-01", "2024-12-31"),
        ("HSBKKZKX", "2025-01-01", "2025-06-30"),
    ]
    # A closed IIK may be registered again, by another party, after its last day only.
    donor = "/v1/donors/fund/bank-accounts"
    early = ok(client.post(donor, json=account(SCHOOL, "2025-06-30"), headers=headers()), 422)
    assert "2025-06-30" in early["detail"]
    ok(client.post(donor, json=account(SCHOOL, "2025-07-01"), headers=headers()), 201)
    assert ok(client.get(donor))["accounts"][0]["holdings"][-1]["party"] == "fund"
    assert ok(client.get("/v1/donors/other/bank-accounts"))["accounts"] == []


@pytest.mark.usefixtures("parties")
def test_an_iik_belongs_to_one_party_at_a_time(client: TestClient, headers: Headers) -> None:
    ok(client.post("/v1/donors/fund/bank-accounts", json=account(FUND), headers=headers()), 201)
    again = client.post("/v1/donors/other/bank-accounts", json=account(FUND), headers=headers())
    problem = ok(again, 409)
    assert "fund" in problem["detail"] and problem["type"].endswith("already-exists")
    # Another party cannot change or close it either.
    change = {"bic": FUND.bic, "bin": FUND.bin, "valid_from": "2025-01-01"}
    path = f"/v1/donors/other/bank-accounts/{FUND.iik}/changes"
    ok(client.post(path, json=change, headers=headers()), 422)


@pytest.mark.usefixtures("parties")
@pytest.mark.parametrize(
    ("field", "value"),
    [("iik", FUND.iik[:-1] + ("0" if FUND.iik[-1] != "0" else "1")), ("bin", "123456789012"),
     ("bic", "NOTABIC1"), ("kbe", "37")],
)  # fmt: skip
def test_bad_details_are_refused(
    client: TestClient, headers: Headers, field: str, value: str
) -> None:
    body = {**account(FUND), field: value}
    ok(client.post("/v1/donors/fund/bank-accounts", json=body, headers=headers()), 422)
    assert ok(client.get("/v1/donors/fund/bank-accounts"))["accounts"] == []


def test_unknown_party_is_not_found(client: TestClient, headers: Headers) -> None:
    body = account(SUPPLIER)
    ok(client.post("/v1/schools/nobody/bank-accounts", json=body, headers=headers()), 404)
    ok(client.get("/v1/schools/nobody/bank-accounts"), 404)


def test_racing_registrations_of_one_iik_leave_one_holder(app: LedgerApplication) -> None:
    for code in ("fund", "other"):
        app.register_donor(Context("alice", f"reg-{code}-0001"), code=code, name=code)
    outcomes: list[str] = []

    def register(code: str) -> None:
        try:
            app.register_bank_account(
                Context("alice", f"acct-{code}-0001"), party_kind="donor", party=code,
                iik=FUND.iik, bic=FUND.bic, bin=FUND.bin, kbe=None,
                valid_from=dt.date(2024, 1, 1),
            )  # fmt: skip
            outcomes.append(code)
        except AlreadyExists:
            outcomes.append("refused")

    threads = [threading.Thread(target=register, args=(c,)) for c in ("fund", "other") * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    found = app.find_bank_account(FUND.iik)
    assert found is not None and len(found.holdings) == 1
    holder = found.holdings[0].party
    # The winner's three requests share a key (replays); the other party's are refused.
    assert outcomes.count(holder) == 3 and outcomes.count("refused") == 3
    loser = "other" if holder == "fund" else "fund"
    assert app.bank_accounts_of("donor", loser) == []
