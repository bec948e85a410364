"""IATI activity XML and 360Giving JSON, checked against the standards' own schemas and
code lists (vendored in tests/standards), and against the ledger's figures."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

import jsonschema
from lxml import etree

from tests.exports.conftest import STANDARDS, Demo, minor

IATI = STANDARDS / "iati"


def get(demo: Demo, headers: Any, path: str, **params: str) -> Any:
    response = demo.client.get(
        path, params={"min_position": str(demo.position), **params}, headers=headers()
    )
    assert response.status_code == 200, response.text
    return response


def codes(name: str) -> set[str]:
    tree = etree.parse(str(IATI / f"{name}.xml"))
    return {c.text.strip() for c in tree.iterfind(".//codelist-item/code") if c.text}


def ledger_totals(demo: Demo, headers: Any, **cut: str) -> dict[str, int]:
    """The ledger's net figures per IATI transaction type, from its account balances."""
    accounts = get(demo, headers, "/v1/balances/accounts", limit="5000", **cut).json()["accounts"]
    totals: dict[str, int] = defaultdict(int)
    for a in accounts:
        parts, balance = a["account"].split(":"), a["balance"]
        if parts[0] == "donors" and parts[2] == "disbursed":
            totals["3"] -= balance
            totals["2"] -= balance  # committed = still receivable + disbursed
        elif parts[:2] == ["commitments", "receivable"]:
            totals["2"] += balance
        elif parts[0] == "operations" or (parts[0] == "schools" and parts[2] == "spent"):
            totals["4"] += balance
        elif parts[0] in ("schools", "programmes") and parts[2] == "inkind":
            totals["4-D02"] += balance
    return dict(totals)


def iati_totals(tree: Any) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    overall: dict[str, int] = defaultdict(int)
    per_activity: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for activity in tree.iterfind("iati-activity"):
        identifier = activity.findtext("iati-identifier")
        for t in activity.iterfind("transaction"):
            code = t.find("transaction-type").get("code")
            if t.find("aid-type") is not None:
                code += "-" + t.find("aid-type").get("code")
            value = t.find("value")
            overall[code] += minor(value.text)
            per_activity[identifier][code] += minor(value.text)
    return dict(overall), per_activity


def test_iati_validates_and_uses_only_listed_codes(demo: Demo, headers: Any) -> None:
    response = get(demo, headers, "/v1/exports/iati")
    assert response.headers["content-type"] == "application/xml"
    assert response.headers["content-disposition"].endswith('.xml"')
    schema = etree.XMLSchema(etree.parse(str(IATI / "iati-activities-schema.xsd")))
    tree = etree.fromstring(response.content)
    assert schema.validate(tree), schema.error_log
    transaction_types, aid_types = codes("TransactionType"), codes("AidType")
    finance_types, currencies = codes("FinanceType"), codes("Currency")
    used: dict[str, set[str]] = defaultdict(set)
    for t in tree.iter("transaction"):
        used["transaction"].add(t.find("transaction-type").get("code"))
        value = t.find("value")
        # Currency and value date on every value.
        assert value.get("currency") in currencies
        assert value.get("value-date") == t.find("transaction-date").get("iso-date")
        for tag, seen in (("aid-type", "aid"), ("finance-type", "finance")):
            if t.find(tag) is not None:
                used[seen].add(t.find(tag).get("code"))
        if t.find("aid-type") is not None:  # in kind: technical assistance, standard grant
            assert t.find("aid-type").get("code") == "D02"
            assert t.find("finance-type").get("code") == "110"
    for f in tree.iter("default-finance-type"):
        used["finance"].add(f.get("code"))
    assert used["transaction"] == {"2", "3", "4"} <= transaction_types
    assert used["aid"] == {"D02"} <= aid_types
    assert used["finance"] == {"110"} <= finance_types


def test_iati_sums_per_type_equal_the_ledger(demo: Demo, headers: Any) -> None:
    tree = etree.fromstring(get(demo, headers, "/v1/exports/iati").content)
    overall, per_activity = iati_totals(tree)
    assert overall == ledger_totals(demo, headers)
    # Reversals are negative values of the type they correct; the demo has some.
    assert any(Decimal(v.text) < 0 for v in tree.iter("value"))
    # One activity per programme: commitments and disbursements per programme.
    programmes = get(demo, headers, "/v1/balances/programmes").json()["groups"]
    assert programmes
    for g in programmes:
        figures = per_activity[f"XI-IATI-HUBLEDGER-{g['key']}"]
        assert figures.get("2", 0) == g["committed"], g["key"]
        assert figures.get("3", 0) == g["disbursed"], g["key"]


def test_iati_as_of_cut(demo: Demo, headers: Any) -> None:
    tree = etree.fromstring(get(demo, headers, "/v1/exports/iati", as_of="2023-12-31").content)
    overall, _ = iati_totals(tree)
    assert overall == ledger_totals(demo, headers, as_of="2023-12-31")
    assert max(d.get("iso-date") for d in tree.iter("transaction-date")) <= "2023-12-31"


def test_360giving_validates_and_matches_grants(demo: Demo, headers: Any) -> None:
    response = get(demo, headers, "/v1/exports/360giving")
    assert response.headers["content-type"] == "application/json"
    package = json.loads(response.text, parse_float=Decimal)
    schema = json.loads((STANDARDS / "360giving" / "360-giving-schema.json").read_text())
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    grants = package["grants"]
    assert len(grants) == 186  # one per hub school's grant in the demo
    for grant in grants:
        errors = [e.message for e in validator.iter_errors(grant)]
        assert not errors, (grant["id"], errors)
        # The 360Giving standard's required fields (the schema file leaves them implicit).
        for field in ("id", "title", "description", "currency", "amountAwarded", "awardDate"):
            assert field in grant
        assert grant["recipientOrganization"] and grant["fundingOrganization"]
        paid = sum(minor(str(t["value"])) for t in grant.get("disbursementTransaction", []))
        assert paid == minor(str(grant["amountDisbursed"]))
    totals = ledger_totals(demo, headers)
    assert sum(minor(str(g["amountAwarded"])) for g in grants) == totals["2"]
    assert sum(minor(str(g["amountDisbursed"])) for g in grants) == totals["3"]
    school = get(demo, headers, "/v1/balances/schools/aktobe-khromtau-hub").json()
    mine = [g for g in grants if g["recipientOrganization"][0]["id"].endswith("khromtau-hub")]
    assert sum(minor(str(g["amountAwarded"])) for g in mine) == school["figures"][0]["committed"]


def _middle_moment(demo: Demo, headers: Any) -> str:
    """A recorded-at in the middle of the demo's history (from the journal CSV)."""
    text = get(demo, headers, "/v1/exports/journal.csv").text
    recorded = sorted(r["recorded_at"] for r in csv.DictReader(io.StringIO(text)))
    assert recorded
    return recorded[len(recorded) // 2]


def test_iati_and_360giving_known_at_cuts_match_the_ledger(demo: Demo, headers: Any) -> None:
    moment = _middle_moment(demo, headers)
    tree = etree.fromstring(get(demo, headers, "/v1/exports/iati", known_at=moment).content)
    overall, _ = iati_totals(tree)
    expected = ledger_totals(demo, headers, known_at=moment)
    assert overall == expected
    assert overall != ledger_totals(demo, headers)  # the cut really removed something
    package = json.loads(
        get(demo, headers, "/v1/exports/360giving", known_at=moment).text, parse_float=Decimal
    )
    grants = package["grants"]
    assert sum(minor(str(g["amountAwarded"])) for g in grants) == expected["2"]
    assert sum(minor(str(g.get("amountDisbursed", 0))) for g in grants) == expected["3"]
