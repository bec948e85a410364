"""CSV exports read back with the stdlib csv module: sums equal the balance endpoints."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.exports.conftest import Demo, minor


def rows(demo: Demo, headers: Any, path: str, **cut: str) -> list[dict[str, str]]:
    response = demo.client.get(
        f"/v1/exports/{path}", params={"min_position": str(demo.position), **cut}, headers=headers()
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].endswith('.csv"')
    return list(csv.DictReader(io.StringIO(response.text, newline="")))


def api(demo: Demo, headers: Any, path: str, **params: str) -> Any:
    response = demo.client.get(
        path, params={"min_position": str(demo.position), **params}, headers=headers()
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("cut", [{}, {"as_of": "2024-06-30"}], ids=["all", "as-of"])
def test_journal_csv_sums_to_the_account_balances(
    demo: Demo, headers: Any, cut: dict[str, str]
) -> None:
    postings = rows(demo, headers, "journal.csv", **cut)
    per_account: dict[str, int] = defaultdict(int)
    per_entry: dict[str, int] = defaultdict(int)
    for r in postings:
        amount = int(r["amount_minor"])
        assert minor(r["amount"]) == amount  # the decimal column is the same number
        per_account[r["account"]] += amount
        per_entry[r["entry_id"]] += amount
        if "as_of" in cut:
            assert r["value_date"] <= cut["as_of"]
    assert all(total == 0 for total in per_entry.values()), "every entry balances"
    accounts = api(demo, headers, "/v1/balances/accounts", limit="5000", **cut)["accounts"]
    assert {a: b for a, b in per_account.items() if b} == {
        a["account"]: a["balance"] for a in accounts
    }
    positions = [int(r["position"]) for r in postings]
    assert positions == sorted(positions), "log order"


def test_schools_csv_equals_the_school_endpoint(demo: Demo, headers: Any) -> None:
    schools = rows(demo, headers, "schools.csv")
    assert len(schools) == 320  # 186 hub + 134 small schools, one currency
    by_code = {r["code"]: r for r in schools}
    for code in [*sorted(by_code)[::16], "aktobe-khromtau-hub"]:
        figures = api(demo, headers, f"/v1/balances/schools/{code}")["figures"]
        r = by_code[code]
        if not figures:
            assert r["currency"] == "" and r["committed_minor"] == "0"
            continue
        f = figures[0]
        assert (r["currency"], int(r["committed_minor"]), int(r["received_minor"])) == (
            f["currency"], f["committed"], f["received"],
        )  # fmt: skip
        assert int(r["outstanding_commitment_minor"]) == f["outstanding_commitment"]
        assert int(r["spent_minor"]) == f["spent"]
        assert int(r["cash_on_hand_minor"]) == f["cash_on_hand"]
        assert int(r["in_kind_received_minor"]) == f["in_kind_received"]
        # The decimal columns say the same in major units of the row's currency.
        assert minor(r["spent"]) == f["spent"] and minor(r["committed"]) == f["committed"]
    accounts = api(demo, headers, "/v1/balances/accounts", prefix="schools:", limit="5000")[
        "accounts"
    ]
    cash = sum(a["balance"] for a in accounts if a["account"].endswith(":cash"))
    assert sum(int(r["cash_on_hand_minor"]) for r in schools) == cash


@pytest.mark.parametrize("cut", [{}, {"as_of": "2023-12-31"}], ids=["all", "as-of"])
def test_donors_csv_equals_the_donor_endpoint(
    demo: Demo, headers: Any, cut: dict[str, str]
) -> None:
    donors = rows(demo, headers, "donors.csv", **cut)
    assert {r["code"] for r in donors} == {"qazaqstan-halqyna", "aitas", "nis"}
    for r in donors:
        body = api(demo, headers, f"/v1/balances/donors/{r['code']}", **cut)
        if not body["figures"]:
            assert r["currency"] == "" and r["committed_minor"] == "0" and r["committed"] == ""
            continue
        f = body["figures"][0]
        assert minor(r["committed"]) == f["committed"]
        assert int(r["schools_funded"]) == body["schools_funded"]
        assert [
            int(r[c])
            for c in (
                "committed_minor", "disbursed_minor", "undisbursed_commitment_minor",
                "operating_costs_covered_minor", "in_kind_given_minor",
            )
        ] == [
            f["committed"], f["disbursed"], f["undisbursed_commitment"],
            f["operating_costs_covered"], f["in_kind_given"],
        ]  # fmt: skip


def test_donors_csv_lists_donors_with_no_activity(client: TestClient, headers: Any) -> None:
    """A registered donor that gave nothing yet is still a row (as a school is)."""
    registered = client.post("/v1/donors", json={"code": "idle", "name": "Idle"}, headers=headers())
    assert registered.status_code == 201, registered.text
    at = {"min_position": registered.json()["position"]}
    text = client.get("/v1/exports/donors.csv", params=at).text
    [row] = [r for r in csv.DictReader(io.StringIO(text)) if r["code"] == "idle"]
    assert (row["currency"], row["committed_minor"], row["committed"], row["schools_funded"]) == (
        "", "0", "", "0",
    )  # fmt: skip
