"""Reconciliation: statement lines against recorded entries, balances against the ledger."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.imports.statements import FUND, SCHOOL, SUPPLIER, statement
from tests.imports.test_import_dry_run import ok, setup_world

Headers = Callable[..., dict[str, str]]
PERIOD = {"party": "school:khromtau-hub", "from": "2025-03-01", "to": "2025-03-31"}


def spend(client: TestClient, headers: Headers, amount: int, day: str, ref: str) -> None:
    body = {"amount": amount, "category": "equipment", "value_date": day, "reference": ref}
    ok(client.post("/v1/schools/khromtau-hub/expenditures", json=body, headers=headers()), 201)


def test_a_statement_reconciles_with_the_ledger(client: TestClient, headers: Headers) -> None:
    setup_world(client, headers)
    lines = [
        (FUND, SCHOOL, 1_000_000_00, "PP-1", "tranche"),  # imported: matched
        (SCHOOL, SUPPLIER, 200_000_00, "0001", "desks"),  # imported: matched
        (SUPPLIER, SCHOOL, 5_000_00, "RF-1", "refund"),  # not mapped: only in the bank
        (SCHOOL, SUPPLIER, 9_000_000_00, "0002", "more than the cash"),  # refused
    ]
    data = statement(SCHOOL, lines, encoding="UTF-8", opening=10_000_000_00).encode()
    report = ok(
        client.post("/v1/imports", params={"mode": "per-row"}, files={"file": ("s.txt", data)},
                    headers=headers()),
        201,
    )  # fmt: skip
    assert [ln["status"] for ln in report["lines"]] == [
        "recorded", "recorded", "not-mapped", "refused",
    ]  # fmt: skip
    spend(client, headers, 100_000_00, "2025-03-05", "0002")  # by hand, another amount
    spend(client, headers, 50_000_00, "2025-03-10", "INV-9")  # by hand, not in the bank
    got = ok(client.get("/v1/reconciliation", params=PERIOD))
    assert got["accounts"] == [SCHOOL.iik]
    assert got["counts"] == {
        "matched": 2, "amount_differs": 1, "only_in_bank": 1, "only_in_ledger": 1,
        "explained": 0,
    }  # fmt: skip
    by_status = {i["status"]: i for i in got["items"] if i["status"] != "matched"}
    assert by_status["only in the bank"]["bank"]["number"] == "RF-1"
    assert by_status["only in the ledger"]["ledger"]["reference"] == "INV-9"
    differs = by_status["amount differs"]
    assert (differs["bank"]["amount"], differs["ledger"]["amount"]) == (9_000_000_00, 100_000_00)
    opening, closing = got["balances"]
    assert (opening["kind"], opening["stated"], opening["ledger_cash"]) == (
        "opening", 10_000_000_00, 0,
    )  # fmt: skip
    assert closing["from_lines"] == closing["stated"] == 1_805_000_00
    assert closing["ledger_cash"] == 1_000_000_00 - 200_000_00 - 100_000_00 - 50_000_00
    assert not closing["agrees"]
    # Importing the statement again keeps each line once.
    ok(client.post("/v1/imports", params={"mode": "per-row"}, files={"file": ("s.txt", data)},
                   headers=headers()), 201)  # fmt: skip
    assert ok(client.get("/v1/reconciliation", params=PERIOD))["counts"] == got["counts"]
    # The refund stays only in the bank: an officer says why, and it counts as resolved.
    refund = by_status["only in the bank"]["bank"]
    why = {"iik": refund["iik"], "date": refund["date"], "key": refund["key"],
           "reason": "supplier refund, returned to the fund"}  # fmt: skip
    ok(client.post("/v1/reconciliation/explanations", json=why, headers=headers()), 201)
    again = ok(client.get("/v1/reconciliation", params=PERIOD))
    assert again["counts"]["explained"] == 1
    (item,) = [i for i in again["items"] if i["status"] == "only in the bank"]
    assert item["explanation"] == "supplier refund, returned to the fund"
    unknown = {**why, "key": "bank-" + "0" * 48}
    ok(client.post("/v1/reconciliation/explanations", json=unknown, headers=headers()), 404)
    # Every fact of the import is in the auditors' feed, in its public form.
    feed = ok(client.get("/v1/events", params={"limit": 500}))["events"]
    types = {e["type"] for e in feed}
    assert {"import.recorded", "bank-month.received", "bank-line.explained",
            "bank-account.registered"} <= types  # fmt: skip
    (received,) = [e for e in feed if e["type"] == "bank-month.received"]
    assert len(received["payload"]["lines"]) == 4


def test_unknown_party_and_bad_queries(client: TestClient) -> None:
    params = {**PERIOD, "party": "school:nobody"}
    assert ok(client.get("/v1/reconciliation", params=params), 404)["status"] == 404
    ok(client.get("/v1/reconciliation", params={**PERIOD, "party": "nobody"}), 422)
    ok(client.get("/v1/reconciliation", params={**PERIOD, "since": "x"}), 400)
    forever = {**PERIOD, "from": "0001-01-01", "to": "9999-12-31"}
    assert "at most 731 days" in ok(client.get("/v1/reconciliation", params=forever), 422)["detail"]
    backwards = {**PERIOD, "from": "2025-03-31", "to": "2025-03-01"}
    ok(client.get("/v1/reconciliation", params=backwards), 422)


def test_the_reconciliation_exports(client: TestClient, headers: Headers) -> None:
    import csv
    import io

    from openpyxl import load_workbook

    setup_world(client, headers)
    lines = [(FUND, SCHOOL, 1_000_000_00, "PP-1", "tranche"),
             (SUPPLIER, SCHOOL, 5_000_00, "=RF-1", "=HYPERLINK(x)")]  # fmt: skip
    data = statement(SCHOOL, lines, encoding="UTF-8").encode()
    ok(client.post("/v1/imports", params={"mode": "per-row"}, files={"file": ("s.txt", data)},
                   headers=headers()), 201)  # fmt: skip
    got = client.get("/v1/reconciliation.csv", params=PERIOD)
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[0][0] == "status" and sorted(r[0] for r in rows[1:]) == [
        "matched", "only in the bank",
    ]  # fmt: skip
    assert "'=RF-1" in [r[3] for r in rows]  # a number that looks like a formula stays text
    book = load_workbook(io.BytesIO(client.get("/v1/reconciliation.xlsx", params=PERIOD).content))
    assert book.sheetnames == ["reconciliation", "balances"]
    assert book["reconciliation"].max_row == 3
