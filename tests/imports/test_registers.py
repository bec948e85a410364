"""Payment registers as CSV and XLSX: every row read exactly, problems named per row."""

from __future__ import annotations

import csv
import io

import pytest

from ledger.imports.columns import header_row
from ledger.imports.registers import RegisterError, parse
from ledger.imports.templates import template_csv, template_xlsx
from tests.imports.registers import cells, expenditure_rows, register_csv, register_xlsx

FIELDS = ("school", "amount", "category", "value_date", "reference", "description")


def _expected(rows: list[dict]) -> list[dict]:
    return [{k: r[k] for k in FIELDS} for r in rows]


@pytest.mark.parametrize(
    ("lang", "delimiter", "bom"), [("ru", ";", True), ("kk", ",", False), ("en", ";", False)]
)
def test_a_large_csv_register_reads_exactly(lang: str, delimiter: str, bom: bool) -> None:
    rows = expenditure_rows(2_100)
    reg = parse(register_csv("expenditures", rows, lang=lang, delimiter=delimiter, bom=bom))
    assert (reg.kind, reg.format, reg.problems) == ("expenditures", "register-csv", [])
    assert all(r.problems == [] for r in reg.rows)
    got = [{k: r.values[k] for k in FIELDS} for r in reg.rows]
    assert got == _expected(rows)
    assert reg.rows[0].line == 2 and reg.rows[-1].line == 2_101
    assert any('"' in r.values["description"] and "=" in r.values["description"] for r in reg.rows)


def test_an_xlsx_register_reads_exactly() -> None:
    rows = expenditure_rows(2_050, seed=11)
    rows[3]["description"] = "=SUM(A1:A9) is text here"
    reg = parse(register_xlsx("expenditures", rows))
    assert (reg.kind, reg.format) == ("expenditures", "register-xlsx")
    assert all(r.problems == [] for r in reg.rows), [r.problems for r in reg.rows][:3]
    assert [{k: r.values[k] for k in FIELDS} for r in reg.rows] == _expected(rows)


def test_problems_are_named_per_row() -> None:
    header = header_row("expenditures", "en")
    lines = [cells("expenditures", r) for r in expenditure_rows(5)]
    lines[1][header.index("category")] = ""
    lines[2][header.index("amount")] = "12,345"
    lines[3][header.index("value_date")] = "31.02.2025"
    lines[4][header.index("currency")] = "XXY"
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows([header, *lines])
    reg = parse(out.getvalue().encode())
    by_line = {r.line: [(p.field, p.message) for p in r.problems] for r in reg.rows}
    assert by_line[2] == []
    assert by_line[3] == [("category", "is required")]
    ((field, message),) = by_line[4]
    assert field == "amount" and "decimal places" in message
    assert by_line[5] == [("value_date", "'31.02.2025' is not a calendar date")]
    assert by_line[6][0][0] == "currency"


def test_the_kind_is_found_from_the_header() -> None:
    for kind in ("disbursements", "expenditures", "operating-costs", "in-kind"):
        for lang in ("en", "ru", "kk"):
            assert parse(template_csv(kind, lang)).kind == kind
            assert parse(template_xlsx(kind, lang)).kind == kind


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        ("Код школы;Сумма\r\nА;1\r\n".encode("cp1251"), 1, "not UTF-8"),
        (b"school;amount\r\nx;1\r\n\xff\xfe;2\r\n", 3, "not UTF-8"),
        (b"foo;bar;baz\r\n1;2;3\r\n", 1, "matches no columns"),
        (b"", 1, "no header row"),
        (b"PK\x03\x04garbage", 1, "XLSX"),
        (b"Code;School\r\n", 1, "matches no columns"),
    ],
)
def test_malformed_files_name_the_line(data: bytes, line: int, words: str) -> None:
    with pytest.raises(RegisterError) as e:
        parse(data)
    assert e.value.line == line and words in e.value.message


def test_an_unclosed_quote_names_its_line() -> None:
    data = register_csv("expenditures", expenditure_rows(3), bom=False)
    broken = data + b'x;"unclosed;1\r\n'
    with pytest.raises(RegisterError) as e:
        parse(broken, kind="expenditures")
    assert e.value.line >= 5 and "CSV" in e.value.message


def test_a_truncated_workbook_is_a_problem() -> None:
    data = register_xlsx("expenditures", expenditure_rows(50))
    with pytest.raises(RegisterError):
        parse(data[: len(data) // 2])


def test_too_many_rows_is_refused() -> None:
    with pytest.raises(RegisterError) as e:
        parse(register_csv("expenditures", expenditure_rows(30)), max_rows=20)
    assert e.value.line == 22


def test_templates_open_in_a_spreadsheet() -> None:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(template_xlsx("in-kind", "ru"))).active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header[:3] == ["Код донора", "Вид помощи", "Справедливая стоимость"]
    assert template_csv("disbursements").startswith(b"\xef\xbb\xbfamount;value_date")
