"""Recording imports through the batch service: once per payment, however often imported."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from ledger.application.app import LedgerApplication
from tests.imports.registers import expenditure_rows, register_csv
from tests.imports.statements import FUND, SCHOOL, for_codepage, school_lines, statement
from tests.imports.test_import_dry_run import ok, setup_world

Headers = Callable[..., dict[str, str]]


def send(
    client: TestClient, headers: Headers, data: bytes, name: str = "s.txt", **params: str
) -> Any:
    return client.post(
        "/v1/imports", params=params, files={"file": (name, data)}, headers=headers()
    )


def history(client: TestClient, ref: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        page = ok(client.get(f"/v1/history/{ref}", params={"after": after, "limit": 500}))
        events += page["events"]
        after = page["next_after"]
    return events


def cash(client: TestClient) -> int:
    body = ok(client.get("/v1/schools/khromtau-hub/account"))
    return sum(c["amount"] for c in body["cash_on_hand"])


def test_a_statement_records_once_however_often_imported(
    client: TestClient, headers: Headers, ledger: LedgerApplication
) -> None:
    (grant,) = setup_world(client, headers)
    lines = school_lines(400)
    expected = sum(a for p, _, a, _, _ in lines if p == FUND) - sum(
        a for p, _, a, _, _ in lines if p == SCHOOL
    )
    data = for_codepage(statement(SCHOOL, lines)).encode("cp1251")
    report = ok(send(client, headers, data), 201)
    assert report["counts"]["recorded"] == 400 and report["import_id"]
    assert cash(client) == expected
    head = ledger.log_head()
    # The same file again, and the payer's own statement of an overlapping period.
    again = ok(send(client, headers, data), 201)
    assert again["counts"]["replayed"] == 400 and again["counts"]["recorded"] == 0
    # (The generator dates a line by its place, so the overlap is the first 100 lines.)
    fund = ok(send(client, headers, statement(FUND, lines[:100], encoding="UTF-8").encode()), 201)
    assert fund["counts"]["replayed"] == 100 and fund["counts"]["recorded"] == 0
    assert cash(client) == expected
    entries = [ln["result"]["entry_id"] for ln in again["lines"]]
    assert entries == [ln["result"]["entry_id"] for ln in report["lines"]]
    # Only the import runs themselves were added to the log.
    assert ledger.log_head() > head
    grant_view = ok(client.get(f"/v1/grants/{grant}"))
    assert grant_view["disbursed"] == sum(a for p, _, a, _, _ in lines if p == FUND)
    # The run is in the audit feed, and in the school's history.
    runs = [e for e in history(client, "schools/khromtau-hub") if e["type"] == "import.recorded"]
    assert len(runs) == 2 and runs[0]["payload"]["sha256"] == report["sha256"]
    assert runs[0]["payload"]["recorded"] == 400 and runs[1]["payload"]["replayed"] == 400


def test_atomic_records_nothing_when_a_line_is_refused(
    client: TestClient, headers: Headers, ledger: LedgerApplication
) -> None:
    setup_world(client, headers)
    rows = expenditure_rows(30)  # the school has no cash: every expenditure is refused
    head = ledger.log_head()
    problem = ok(send(client, headers, register_csv("expenditures", rows), "r.csv"), 422)
    assert problem["type"].endswith(":import-refused")
    assert problem["report"]["counts"]["refused"] == 30
    assert "exceeds" in problem["report"]["lines"][0]["problems"][-1]["message"]
    assert ledger.log_head() == head
    # Per row: what can be recorded is, the rest is refused line by line.
    tranche = [(FUND, SCHOOL, 1_000_000_00, "T-1", "tranche")]
    ok(send(client, headers, statement(SCHOOL, tranche, encoding="UTF-8").encode()), 201)
    for row in rows:
        row["amount"] = 100_000_00
    data = register_csv("expenditures", rows)
    report = ok(send(client, headers, data, "r.csv", mode="per-row"), 201)
    assert (report["counts"]["recorded"], report["counts"]["refused"]) == (10, 20)
    assert cash(client) == 0
    refused = [ln for ln in report["lines"] if ln["status"] == "refused"]
    assert all(ln["result"]["status"] == 409 for ln in refused)


def test_a_register_records_and_replays(client: TestClient, headers: Headers) -> None:
    setup_world(client, headers)
    lines = [(FUND, SCHOOL, 1_000_000_00, "T-1", "tranche")]
    ok(send(client, headers, statement(SCHOOL, lines, encoding="UTF-8").encode()), 201)
    rows = expenditure_rows(50)
    for row in rows:
        row["amount"] = 1_000_00
    data = register_csv("expenditures", rows)
    first = ok(send(client, headers, data, "r.csv"), 201)
    second = ok(send(client, headers, data, "r.csv"), 201)
    assert first["counts"]["recorded"] == 50 and second["counts"]["replayed"] == 50
    assert cash(client) == 1_000_000_00 - 50 * 1_000_00


def test_an_atomic_import_is_at_most_one_batch(
    client: TestClient, headers: Headers, ledger: LedgerApplication
) -> None:
    setup_world(client, headers)
    head = ledger.log_head()
    data = register_csv("expenditures", expenditure_rows(1_001))
    problem = ok(send(client, headers, data, "r.csv"), 422)
    assert "at most 1000" in problem["detail"] and "per-row" in problem["detail"]
    assert ledger.log_head() == head


def test_a_register_and_the_statement_of_the_same_payment_record_it_once(
    client: TestClient, headers: Headers
) -> None:
    import datetime as dt

    (grant,) = setup_world(client, headers)
    row = {
        "donor": "fund", "school": "khromtau-hub", "amount": 7_500_000_00, "currency": "KZT",
        "value_date": dt.date(2025, 3, 1), "payment_reference": "PP-77",
    }  # fmt: skip
    register = ok(send(client, headers, register_csv("disbursements", [row]), "r.csv"), 201)
    assert register["counts"]["recorded"] == 1
    line = (FUND, SCHOOL, 7_500_000_00, "PP-77", "Транш по договору")
    data = statement(SCHOOL, [line], encoding="UTF-8").encode()
    report = ok(send(client, headers, data), 201)
    assert report["counts"]["replayed"] == 1 and report["counts"]["recorded"] == 0
    assert report["lines"][0]["idempotency_key"] == register["lines"][0]["idempotency_key"]
    assert ok(client.get(f"/v1/grants/{grant}"))["disbursed"] == 7_500_000_00
