"""What an auditor needs travels with each entry: an expenditure's description, an
in-kind gift's valuation basis and quantities, and both people of a four-eyes
disbursement, in ``/v1/journal``, the hledger journal (tags) and the journal CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import unquote

from fastapi.testclient import TestClient

from tests.api.test_approvals_api import BIG, ledger, ok, pay
from tests.api.test_approvals_api import grant as grant  # noqa: PLC0414 (fixture)

__all__ = ["ledger"]


def test_notes_reach_journal_hledger_and_csv(client: TestClient, headers: Any, grant: str) -> None:
    pending = ok(pay(client, headers, grant, BIG, actor="aigerim"), 202)
    entry = pending["entry_id"]
    ok(client.post(f"/v1/approvals/{entry}/approve", json={"reason": "checked"},
                   headers=headers(actor="daniyar")))  # fmt: skip
    spent = ok(client.post(
        "/v1/schools/khromtau/expenditures",
        json={"amount": 12_345_678_90, "category": "equipment", "value_date": "2025-03-06",
              "reference": "INV-9", "description": "3D printers; 2 units, room 4"},
        headers=headers(),
    ))  # fmt: skip
    ok(client.post("/v1/donors", json={"code": "nis", "name": "NIS"}, headers=headers()))
    gift = ok(client.post(
        "/v1/in-kind-contributions",
        json={"donor": "nis", "kind": "teacher-training", "fair_value": 400_000_000,
              "valuation_basis": "NIS course price list, 2025", "school": "khromtau",
              "quantities": {"teachers_trained": 20, "hours": 72}, "value_date": "2025-03-07"},
        headers=headers(),
    ))  # fmt: skip
    at = {"min_position": gift["position"]}

    by_id = {e["entry_id"]: e for e in client.get("/v1/journal", params=at).json()["entries"]}
    approved = by_id[entry]
    assert (approved["requested_by"], approved["approved_by"], approved["actor"]) == (
        "aigerim", "daniyar", "daniyar",
    )  # fmt: skip
    assert by_id[spent["entry_id"]]["description"] == "3D printers; 2 units, room 4"
    inkind = by_id[gift["entry_id"]]
    assert inkind["valuation_basis"] == "NIS course price list, 2025"
    assert inkind["quantities"] == {"hours": 72, "teachers_trained": 20}

    text = client.get("/v1/exports/journal", params=at).text
    tags: dict[str, dict[str, str]] = {}
    for block in text.split("\n\n"):
        meta = dict(
            line.strip().removeprefix("; ").split(": ", 1)
            for line in block.splitlines()
            if line.startswith("    ; ")
        )
        if "entry_id" in meta:
            tags[meta["entry_id"]] = {k: unquote(v) for k, v in meta.items()}
    assert tags[entry]["requested_by"] == "aigerim"
    assert tags[entry]["approved_by"] == "daniyar"
    assert tags[entry]["reason"] == "checked"
    assert tags[spent["entry_id"]]["description"] == "3D printers; 2 units, room 4"
    assert tags[gift["entry_id"]]["valuation_basis"] == "NIS course price list, 2025"
    assert (tags[gift["entry_id"]]["quantity_teachers_trained"],
            tags[gift["entry_id"]]["quantity_hours"]) == ("20", "72")  # fmt: skip

    rows = list(csv.DictReader(io.StringIO(client.get("/v1/exports/journal.csv", params=at).text)))
    first = {r["entry_id"]: r for r in rows}
    assert (first[entry]["requested_by"], first[entry]["approved_by"]) == ("aigerim", "daniyar")
    assert first[spent["entry_id"]]["description"] == "3D printers; 2 units, room 4"
    assert first[gift["entry_id"]]["valuation_basis"] == "NIS course price list, 2025"
    assert json.loads(first[gift["entry_id"]]["quantities"]) == {
        "hours": 72,
        "teachers_trained": 20,
    }
