"""The chart owns its account names: every leg it posts parses back to who and which bucket."""

from __future__ import annotations

import pytest

from ledger.domain import chart
from ledger.domain.chart import AccountName
from ledger.domain.money import Leg


def _accounts(legs: tuple[Leg, ...]) -> list[str]:
    return [leg.account for leg in legs]


def test_every_posted_account_parses_to_its_holder_and_bucket() -> None:
    legs = (
        *chart.disbursement("fund-a", "sch-1", 100, "KZT"),
        *chart.commitment("fund-a", "sch-1", 100, "KZT"),
        *chart.expenditure("sch-1", "books", 10, "KZT"),
        *chart.operating_cost("fund-a", "audit-fees", 5, "KZT"),
        *chart.in_kind("fund-a", "laptops", 7, "KZT", school="sch-1", programme=None),
        *chart.in_kind("fund-a", "training", 7, "KZT", school=None, programme="prog-x"),
    )
    parsed = {a: chart.parse(a) for a in _accounts(legs)}
    assert parsed == {
        "schools:sch-1:cash": AccountName("school", "sch-1", "cash"),
        "donors:fund-a:disbursed": AccountName("donor", "fund-a", "disbursed"),
        "commitments:pledged:fund-a": AccountName("donor", "fund-a", "pledged"),
        "commitments:receivable:sch-1": AccountName("school", "sch-1", "receivable"),
        "schools:sch-1:spent:books": AccountName("school", "sch-1", "spent", "books"),
        "operations:audit-fees": AccountName("operations", "", "operating", "audit-fees"),
        "donors:fund-a:operating": AccountName("donor", "fund-a", "operating"),
        "schools:sch-1:inkind:laptops": AccountName("school", "sch-1", "inkind", "laptops"),
        "programmes:prog-x:inkind:training": AccountName(
            "programme", "prog-x", "inkind", "training"
        ),
        "donors:fund-a:inkind": AccountName("donor", "fund-a", "inkind"),
    }


def test_the_builders_name_what_the_postings_post() -> None:
    assert chart.school_cash("s") == "schools:s:cash"
    assert chart.school_spent("s", "books") == "schools:s:spent:books"
    assert chart.school_inkind("s", "laptops") == "schools:s:inkind:laptops"
    assert chart.programme_inkind("p", "training") == "programmes:p:inkind:training"
    assert chart.receivable("s") == "commitments:receivable:s"
    assert chart.receivable("s").startswith(chart.RECEIVABLE_PREFIX)
    assert chart.pledged("d") == "commitments:pledged:d"
    assert chart.donor_account("d", chart.DISBURSED) == "donors:d:disbursed"
    assert chart.operations("audit-fees") == "operations:audit-fees"
    assert chart.school_prefix("s", chart.SPENT) == "schools:s:spent:"


def test_a_reader_may_name_any_code_but_a_posting_refuses_an_unsafe_one() -> None:
    # A read for an unknown or malformed code finds nothing; it is not an error.
    assert chart.donor_account("Not A Code", chart.INKIND) == "donors:Not A Code:inkind"
    with pytest.raises(ValueError, match="invalid account segment 'Not A Code'"):
        chart.commitment("Not A Code", "sch-1", 100, "KZT")
    with pytest.raises(ValueError, match="invalid account segment 'Bad'"):
        chart.expenditure("sch-1", "Bad", 100, "KZT")


@pytest.mark.parametrize(
    "name", ["", "schools", "schools:s", "ledger:x:y", "commitments:owed:s", "a:b:c:d:e"]
)
def test_a_name_outside_the_chart_parses_to_none(name: str) -> None:
    assert chart.parse(name) is None
