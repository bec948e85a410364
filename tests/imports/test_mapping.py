"""Register rows to recording requests: each template's example row is a valid request."""

from __future__ import annotations

import datetime as dt

import pytest

from contracts.batch import BatchItem
from ledger.imports.mapping import Directory, Holder, bank_key, plan_register
from ledger.imports.registers import parse
from ledger.imports.templates import template_csv, template_xlsx

GRANT = "0b0c6b7e-38f5-4a55-a4c4-1a2b3c4d5e6f"
PATHS = {
    "disbursements": f"/v1/grants/{GRANT}/disbursements",
    "expenditures": "/v1/schools/aktobe-khromtau-hub/expenditures",
    "operating-costs": "/v1/operating-costs",
    "in-kind": "/v1/in-kind-contributions",
}


@pytest.mark.parametrize("kind", sorted(PATHS))
@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
def test_each_templates_example_is_a_request(kind: str, lang: str) -> None:
    directory = Directory(grants={("qazaqstan-halqyna", "aktobe-khromtau-hub", "KZT"): [GRANT]})
    for data in (template_csv(kind, lang), template_xlsx(kind, lang)):
        (line,) = plan_register(parse(data), directory)
        assert line.status == "ready", line.problems
        assert isinstance(line.item, BatchItem) and line.item.path == PATHS[kind]
        assert line.item.body["value_date"] == "2025-03-15"


def test_a_known_payer_account_gives_the_bank_key() -> None:
    iik = "KZ456010000000000001"
    held = Holder("school", "aktobe-khromtau-hub", dt.date(2024, 1, 1), None)
    directory = Directory(accounts={("school", "aktobe-khromtau-hub"): [(iik, held)]})
    (line,) = plan_register(parse(template_csv("expenditures")), directory)
    assert line.item is not None
    day = dt.date(2025, 3, 15)
    assert line.item.idempotency_key == bank_key(iik, "СФ-2025/0412", day, 125_000_000, "KZT")
    # Two accounts that day: which one paid is not known, so the register's own key.
    other = ("KZ000000000000000000", held)
    directory.accounts["school", "aktobe-khromtau-hub"].append(other)
    (line,) = plan_register(parse(template_csv("expenditures")), directory)
    assert line.item is not None and line.item.idempotency_key != bank_key(
        iik, "СФ-2025/0412", day, 125_000_000, "KZT"
    )
