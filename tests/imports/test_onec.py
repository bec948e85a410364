"""1CClientBankExchange statements as Kazakh banks export them, read to the tiyn."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.imports.amounts import ValueProblem, day, minor_units
from ledger.imports.onec import StatementError, parse
from ledger.imports.totals import totals_problems
from tests.imports.statements import FUND, SCHOOL, for_codepage, school_lines, statement

ENCODINGS = [("cp1251", "Windows"), ("cp866", "DOS"), ("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8")]


@pytest.mark.parametrize(("encoding", "declared"), ENCODINGS)
def test_a_large_statement_reads_in_each_encoding(encoding: str, declared: str) -> None:
    lines = school_lines(2_100)
    text = statement(SCHOOL, lines, encoding=declared, opening=12_345)
    if not encoding.startswith("utf"):
        text = for_codepage(text)
        lines = [(p, q, a, n, for_codepage(t)) for p, q, a, n, t in lines]
    s = parse(text.encode(encoding))
    assert s.encoding == ("utf-8" if encoding.startswith("utf") else encoding)
    assert s.problems == []
    assert s.accounts == [SCHOOL.iik]
    assert s.start == dt.date(2025, 3, 1)
    assert len(s.documents) == 2_100
    assert all(d.problems == [] for d in s.documents)
    (section,) = s.sections
    assert section.opening == 12_345
    assert section.received == sum(a for _, q, a, _, _ in lines if q == SCHOOL)
    assert totals_problems(s) == []
    # Each line exactly as written: amount in tiyn, both parties, Kazakh text, '=' and quotes.
    for doc, (payer, payee, amount, number, purpose) in zip(s.documents, lines, strict=True):
        assert (doc.amount, doc.number, doc.purpose) == (amount, number, purpose)
        assert (doc.payer.iik, doc.payer.bin) == (payer.iik, payer.bin)
        assert (doc.payee.iik, doc.payee.bin) == (payee.iik, payee.bin)
        assert doc.payee.name in (payee.name, for_codepage(payee.name))
        assert doc.direction == ("in" if payee == SCHOOL else "out")
        assert doc.knp in ("119", "311")
        assert doc.payee.kbe == payee.kbe
    assert any(
        "=" in d.payer.name for d in s.documents if d.payer.name
    )  # value with '=' kept whole
    assert {d.kind for d in s.documents} >= {"выписка", "Выписка", "Платежное поручение"}


def test_the_russian_layout_reads_too() -> None:
    lines = school_lines(50, seed=3)
    s = parse(for_codepage(statement(SCHOOL, lines, russian_layout=True)).encode("cp1251"))
    assert totals_problems(s) == []  # directions from which side the account is
    for doc, (payer, payee, amount, number, purpose) in zip(s.documents, lines, strict=True):
        assert (doc.amount, doc.number, doc.direction) == (amount, number, None)
        assert doc.purpose == for_codepage(
            " ".join(p.strip() for p in (purpose[:40], purpose[40:]) if p.strip())
        )
        assert (doc.payer.iik, doc.payee.bin) == (payer.iik, payee.bin)


def test_totals_that_do_not_add_up_are_named() -> None:
    s = parse(statement(SCHOOL, school_lines(20), tamper_closing=1).encode("utf-8"))
    assert [p.field for p in totals_problems(s)] == ["КонечныйОстаток"]
    text = statement(SCHOOL, school_lines(20))
    # A document lost from the middle (a truncated export) no longer matches the totals.
    start = text.index("СекцияДокумент", text.index("СекцияДокумент") + 1)
    end = text.index("КонецДокумента", start) + len("КонецДокумента\r\n")
    fields = {p.field for p in totals_problems(parse((text[:start] + text[end:]).encode("utf-8")))}
    assert fields & {"ВсегоПоступило", "ВсегоСписано"}


def test_a_bad_value_is_a_problem_of_its_document_only() -> None:
    text = statement(
        FUND, [(FUND, SCHOOL, 10_000_00, "PP-1", "Транш"), (FUND, SCHOOL, 5_00, "PP-2", "x")]
    )
    broken = text.replace("СуммаРасход=10000.00", "СуммаРасход=10 000,005", 1)
    broken = broken.replace(
        f"ДатаДокумента={dt.date(2025, 3, 2):%d.%m.%Y}", "ДатаДокумента=31.02.2025"
    )
    s = parse(broken.encode("utf-8"))
    first, second = s.documents
    assert [(p.field, p.line > first.line) for p in first.problems] == [("СуммаРасход", True)]
    assert "decimal places" in first.problems[0].message
    assert [p.field for p in second.problems] == ["ДатаДокумента"]
    assert second.amount == 5_00


@pytest.mark.parametrize(
    ("mutate", "line", "message"),
    [
        (lambda t: t[: t.rindex("КонецДокумента")], 0, "truncated"),
        (lambda t: t.replace("КонецРасчСчет\r\n", "", 1), 19, "not closed"),
        (lambda t: t.replace("1CClientBankExchange", "1CClientBank", 1), 1, "first line"),
        (lambda t: t.replace("КонецФайла", "КонецФайла\r\nСумма=1"), 0, "after КонецФайла"),
        (lambda t: t.replace("Валюта=KZT", "просто строка", 1), 0, "expected Key=Value"),
    ],
)
def test_a_broken_file_is_one_clear_error_naming_the_line(mutate, line: int, message: str) -> None:  # type: ignore[no-untyped-def]
    text = statement(SCHOOL, school_lines(3))
    with pytest.raises(StatementError) as e:
        parse(mutate(text).encode("utf-8"))
    assert message in e.value.message
    assert e.value.line >= 1 and (line == 0 or e.value.line == line)


def test_a_file_in_no_known_encoding_is_refused() -> None:
    text = statement(SCHOOL, school_lines(3))
    with pytest.raises(StatementError, match="unknown encoding"):
        parse(for_codepage(text).replace("№", "N").encode("koi8_r"))
    with pytest.raises(StatementError, match="not a 1CClientBankExchange file"):
        parse(text.encode("utf-16"))
    with pytest.raises(StatementError, match="more than 2 documents"):
        parse(text.encode("utf-8"), max_documents=2)


def test_amounts_and_dates_are_exact() -> None:
    assert minor_units("250 000 000,00") == 25_000_000_000
    assert minor_units("202742.8") == 20_274_280
    assert minor_units("160000") == 16_000_000
    assert minor_units("1\u00a0000,5") == 100_050
    assert minor_units("7", "JPY") == 7
    for bad in ("1.001", "-5", "1e3", "", "12,34,56"):
        with pytest.raises(ValueProblem):
            minor_units(bad)
    assert day("01.10.2024") == dt.date(2024, 10, 1) == day("2024-10-01")
    with pytest.raises(ValueProblem):
        day("29.02.2025")
