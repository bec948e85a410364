"""Dry runs through the API: every line shows what it would record; nothing is recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.application.app import LedgerApplication
from server.app import create_app
from tests.conftest import app_settings, token
from tests.imports.registers import expenditure_rows, register_csv, register_xlsx
from tests.imports.statements import FUND, SCHOOL, SUPPLIER, school_lines, statement

Headers = Callable[..., dict[str, str]]
GRANT = 25_000_000_000_00


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def setup_world(client: TestClient, headers: Headers, grants: int = 1) -> list[str]:
    ok(client.post("/v1/donors", json={"code": "fund", "name": "Fund"}, headers=headers()), 201)
    school = {"code": "khromtau-hub", "name": "Khromtau", "school_type": "hub",
              "region": "aktobe", "district": "Khromtau"}  # fmt: skip
    ok(client.post("/v1/schools", json=school, headers=headers()), 201)
    for party, org in (("donors/fund", FUND), ("schools/khromtau-hub", SCHOOL)):
        body = {"iik": org.iik, "bic": org.bic, "bin": org.bin, "valid_from": "2024-01-01"}
        ok(client.post(f"/v1/{party}/bank-accounts", json=body, headers=headers()), 201)
    ids = []
    for i in range(grants):
        body = {"donor": "fund", "school": "khromtau-hub", "amount": GRANT,
                "value_date": "2024-06-01", "reference": f"AGR-{i}"}  # fmt: skip
        ids.append(ok(client.post("/v1/grants", json=body, headers=headers()), 201)["grant_id"])
    return ids


def upload(client: TestClient, data: bytes, name: str = "statement.txt", **params: str) -> Any:
    return client.post(
        "/v1/imports", params={"dry_run": "true", **params}, files={"file": (name, data)}
    )


def test_a_statement_dry_run_maps_every_line_and_records_nothing(
    client: TestClient, headers: Headers, ledger: LedgerApplication
) -> None:
    (grant,) = setup_world(client, headers)
    lines = school_lines(2_100)
    head = ledger.log_head()
    data = statement(SCHOOL, lines, encoding="UTF-8").encode("utf-8")
    # All or nothing is one batch: 2,100 lines are for per-row mode, and the dry run says so.
    (too_many,) = ok(upload(client, data))["problems"]
    assert too_many["field"] == "mode" and "per-row" in too_many["message"]
    report = ok(upload(client, data, mode="per-row"))
    assert ledger.log_head() == head  # nothing recorded
    assert report["dry_run"] and report["format"] == "1c-statement"
    assert report["accounts"] == [SCHOOL.iik] and report["problems"] == []
    counts = report["counts"]
    assert counts["rows"] == counts["ready"] == 2_100
    for line, (payer, _, amount, number, purpose) in zip(report["lines"], lines, strict=True):
        assert (line["status"], line["amount"], line["number"]) == ("ready", amount, number)
        if payer == FUND:
            assert line["path"] == f"/v1/grants/{grant}/disbursements"
            assert line["body"]["payment_reference"] == number
        else:
            assert line["path"] == "/v1/schools/khromtau-hub/expenditures"
            assert line["body"]["category"] == "other"  # KNP 119 in the default table
            assert line["body"]["description"] == purpose
    keys = {line["idempotency_key"] for line in report["lines"]}
    assert len(keys) == 2_100
    # The same payments in a cp1251 file of another period overlap key for key.
    again = ok(upload(client, statement(SCHOOL, lines[:10]).encode("utf-8"), name="other.txt"))
    assert {ln["idempotency_key"] for ln in again["lines"]} <= keys


def test_lines_without_one_open_grant_wait_for_a_decision(
    client: TestClient, headers: Headers
) -> None:
    setup_world(client, headers, grants=2)
    report = ok(upload(client, statement(SCHOOL, school_lines(20)).encode("cp1251", "replace")))
    tranches = [ln for ln in report["lines"] if ln["action"] == "disbursement"]
    assert tranches and all(ln["status"] == "needs-decision" for ln in tranches)
    assert "2 open grants" in tranches[0]["problems"][0]["message"]
    assert report["counts"]["needs_decision"] == len(tranches)


def test_unknown_accounts_are_listed_not_guessed(client: TestClient, headers: Headers) -> None:
    setup_world(client, headers)
    lines = [(SUPPLIER, FUND, 1_000_00, "X-1", "refund"), (FUND, SCHOOL, 5_000_00, "X-2", "t")]
    report = ok(upload(client, statement(FUND, lines).encode()))
    first, second = report["lines"]
    assert first["status"] == "not-mapped" and "not registered" in first["problems"][0]["message"]
    assert second["status"] == "ready" and second["action"] == "disbursement"


def test_a_register_dry_run(client: TestClient, headers: Headers) -> None:
    setup_world(client, headers)
    rows = expenditure_rows(2_000)
    for data, name in ((register_csv("expenditures", rows), "r.csv"),
                       (register_xlsx("expenditures", rows), "r.xlsx")):  # fmt: skip
        report = ok(upload(client, data, name=name, mode="per-row"))
        assert report["kind"] == "expenditures" and report["counts"]["ready"] == 2_000
        assert report["lines"][0]["body"]["amount"] == rows[0]["amount"]


def test_per_row_problems_show_in_the_report(client: TestClient, headers: Headers) -> None:
    setup_world(client, headers)
    text = statement(SCHOOL, school_lines(5)).replace("СуммаПриход=", "СуммаПриход=1,2,3", 1)
    report = ok(upload(client, text.encode()))
    (bad,) = [ln for ln in report["lines"] if ln["status"] == "refused"]
    assert bad["problems"][0]["field"] == "СуммаПриход" and bad["problems"][0]["line"] > 1
    assert report["problems"]  # the totals no longer add up either


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (statement(SCHOOL, school_lines(3)).rsplit("КонецДокумента", 1)[0].encode(), None),
        ("1CClientBankExchange\r\nВерсияФормата=1.03\r\nfoo\r\n".encode(), 3),
        (b"\x00\x01\x02 binary", 1),
    ],
)
def test_malformed_files_are_a_problem_naming_the_line(
    client: TestClient, data: bytes, line: int | None
) -> None:
    problem = ok(upload(client, data), 422)
    assert problem["type"].endswith(":malformed-import")
    assert "line " in problem["detail"]
    if line is not None:
        assert f"line {line}:" in problem["detail"]


@pytest.fixture
def small_client(ledger: LedgerApplication, store_url: str) -> Iterator[TestClient]:
    settings = app_settings(store_url, import_max_bytes=50_000, import_max_rows=100)
    with TestClient(
        create_app(settings, ledger=ledger), headers={"Authorization": f"Bearer {token()}"}
    ) as c:
        yield c


def test_limits(small_client: TestClient) -> None:
    big = statement(SCHOOL, school_lines(300)).encode()
    assert ok(upload(small_client, big), 413)["type"].endswith(":body-too-large")
    long = register_csv("expenditures", expenditure_rows(150), bom=False)
    assert len(long) < 50_000
    problem = ok(upload(small_client, long, name="r.csv"), 413)
    assert problem["type"].endswith(":import-too-many-rows") and "line 102" in problem["detail"]


def test_recording_needs_a_key_and_officer(client: TestClient) -> None:
    data = register_csv("expenditures", expenditure_rows(1))
    response = client.post("/v1/imports", files={"file": ("r.csv", data)})
    assert ok(response, 400)["type"].endswith(":idempotency-key-required")
    viewer = {"Authorization": f"Bearer {token(roles=['viewer'])}"}
    response = client.post("/v1/imports?dry_run=true", files={"file": ("r.csv", data)},
                           headers=viewer)  # fmt: skip
    ok(response, 403)


def test_templates_download(client: TestClient) -> None:
    response = client.get("/v1/imports/templates/in-kind.xlsx?lang=kk")
    assert response.status_code == 200 and response.content.startswith(b"PK")
    csv = client.get("/v1/imports/templates/expenditures.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert ok(client.get("/v1/imports/templates/bogus.csv"), 404)["type"].endswith(":not-found")
