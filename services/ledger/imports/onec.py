"""1CClientBankExchange statements, as Kazakh banks' internet banking exports them.

The format is ``Key=Value`` lines: a header opened by ``1CClientBankExchange``, one
``СекцияРасчСчет … КонецРасчСчет`` block per account with its opening and closing
balances and totals, then one ``СекцияДокумент=… … КонецДокумента`` block per payment,
and ``КонецФайла``. Files are cp1251 (``Кодировка=Windows``), cp866 (``DOS``) or UTF-8.
Kazakh banks name the parties' fields ``…ИИК``, ``…БИН_ИИН``, ``…Наименование``, ``…КБЕ``
and split amounts into ``СуммаПриход``/``СуммаРасход``; the older Russian layout
(``…Счет``, ``…ИНН``, ``Сумма``, ``НазначениеПлатежа1..6``) is read too.

A broken file (unknown encoding, no header, a section that is never closed) is one
``StatementError`` naming the line; a bad value inside a document is a problem of that
document only, so the rest of the statement can still be shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from ledger.imports.amounts import ValueProblem, day, minor_units

MAGIC = "1CClientBankExchange"
T = TypeVar("T")
ENCODINGS = {"windows": "cp1251", "dos": "cp866", "utf-8": "utf-8", "utf8": "utf-8"}


class StatementError(ValueError):
    """The file cannot be read as a statement at all."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    message: str


@dataclass(frozen=True)
class Party:
    iik: str | None
    bin: str | None
    name: str | None
    kbe: str | None
    bic: str | None


@dataclass
class Document:
    """One payment of the statement; amounts in minor units of ``currency``."""

    line: int
    kind: str
    number: str | None = None
    date: dt.date | None = None
    operation_date: dt.date | None = None
    amount: int | None = None
    # "in" (СуммаПриход), "out" (СуммаРасход), or None when only Сумма says how much.
    direction: str | None = None
    currency: str = "KZT"
    payer: Party = field(default_factory=lambda: Party(None, None, None, None, None))
    payee: Party = field(default_factory=lambda: Party(None, None, None, None, None))
    knp: str | None = None
    purpose: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class AccountSection:
    line: int
    account: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    opening: int | None = None
    received: int | None = None
    paid: int | None = None
    closing: int | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Statement:
    encoding: str
    header: dict[str, str]
    accounts: list[str]
    start: dt.date | None
    end: dt.date | None
    sections: list[AccountSection]
    documents: list[Document]
    problems: list[Problem] = field(default_factory=list)


# Canonical name -> the keys banks use for it (compared case-insensitively).
def _party(role: str) -> dict[str, tuple[str, ...]]:
    return {
        "iik": (f"{role}ИИК", f"{role}Счет", f"{role}РасчСчет", f"{role}ИИК1"),
        "bin": (f"{role}БИН_ИИН", f"{role}БИН", f"{role}ИИН", f"{role}ИНН", f"{role}РНН"),
        "name": (f"{role}Наименование", role, f"{role}1"),
        "kbe": (f"{role}КБЕ", f"{role}КБе"),
        "bic": (f"{role}БанкБИК", f"{role}БИК"),
    }


DOCUMENT_KEYS: dict[str, tuple[str, ...]] = {
    "number": ("НомерДокумента", "Номер"),
    "date": ("ДатаДокумента", "Дата"),
    "operation_date": ("ДатаОперации", "ДатаПоступило", "ДатаСписано", "ДатаВалютирования"),
    "amount": ("Сумма",),
    "received": ("СуммаПриход",),
    "paid": ("СуммаРасход",),
    "currency": ("Валюта", "КодВалюты"),
    "knp": ("КодНазначенияПлатежа", "КНП"),
    "purpose": ("НазначениеПлатежа",),
}
PAYER, PAYEE = _party("Плательщик"), _party("Получатель")


def _folded(keys: dict[str, tuple[str, ...]]) -> dict[str, tuple[tuple[str, str], ...]]:
    # Folded once here, not for every document of a 10,000-line statement.
    return {name: tuple((k, k.casefold()) for k in names) for name, names in keys.items()}


_DOCUMENT_KEYS, _PAYER, _PAYEE = _folded(DOCUMENT_KEYS), _folded(PAYER), _folded(PAYEE)


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 when it decodes and says so, else the Cyrillic code page whose
    text has the header's keys (a wrong code page turns them into other letters)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    candidates = ["utf-8", "cp1251", "cp866"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        head = text[:4096]
        if head.lstrip().startswith(MAGIC) and ("Кодировка" in head or "ВерсияФормата" in head):
            return text, encoding
    if not data.lstrip().startswith(MAGIC.encode()):
        raise StatementError(1, f"not a 1CClientBankExchange file (the first line must be {MAGIC})")
    raise StatementError(1, "unknown encoding: expected cp1251 (Windows), cp866 (DOS) or UTF-8")


def _lines(text: str) -> Iterator[tuple[int, str, str | None]]:
    """(line number, key, value or None for a bare marker), blank lines skipped."""
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        yield n, key.strip(), value.strip() if sep else None


def parse(data: bytes, *, max_documents: int = 100_000) -> Statement:
    text, encoding = decode(data)
    lines = iter(_lines(text))
    first = next(lines, None)
    if first is None or first[1] != MAGIC:
        raise StatementError(first[0] if first else 1, f"the first line must be {MAGIC}")
    header: dict[str, str] = {}
    accounts: list[str] = []
    sections: list[AccountSection] = []
    documents: list[Document] = []
    ended = False
    for n, key, value in lines:
        if ended:
            raise StatementError(n, "text after КонецФайла")
        folded = key.casefold()
        if folded == "секциярасчсчет":
            sections.append(_section(n, lines))
        elif folded == "секциядокумент":
            if len(documents) >= max_documents:
                raise StatementError(n, f"more than {max_documents} documents")
            documents.append(_document(n, value or "", lines))
        elif folded == "конецфайла":
            ended = True
        elif folded in ("конецрасчсчет", "конецдокумента"):
            raise StatementError(n, f"{key} without its opening section")
        elif value is None:
            raise StatementError(n, f"unexpected line {key!r} (expected Key=Value)")
        elif folded == "расчсчет":
            accounts.append(value)
        else:
            header.setdefault(key, value)
    statement = Statement(
        encoding=encoding,
        header=header,
        accounts=accounts,
        start=_header_day(header, "ДатаНачала"),
        end=_header_day(header, "ДатаКонца"),
        sections=sections,
        documents=documents,
    )
    declared = header.get("Кодировка", "").casefold()
    if declared and ENCODINGS.get(declared) not in (None, encoding):
        statement.problems.append(
            Problem(1, "Кодировка", f"says {header['Кодировка']} but the file is {encoding}")
        )
    return statement


def _header_day(header: dict[str, str], key: str) -> dt.date | None:
    value = header.get(key)
    if not value:
        return None
    try:
        return day(value)
    except ValueProblem as e:
        raise StatementError(1, f"{key}: {e}") from None


def _block(
    start: int, opener: str, closer: str, lines: Iterator[tuple[int, str, str | None]]
) -> Iterator[tuple[int, str, str]]:
    for n, key, value in lines:
        folded = key.casefold()
        if folded == closer.casefold():
            return
        if folded in ("секциядокумент", "секциярасчсчет", "конецфайла"):
            raise StatementError(n, f"{opener} opened at line {start} is not closed by {closer}")
        if value is None:
            raise StatementError(n, f"unexpected line {key!r} in {opener} (expected Key=Value)")
        yield n, key, value
    raise StatementError(
        start, f"{opener} opened at line {start} is not closed by {closer}: the file is truncated"
    )


def _section(start: int, lines: Iterator[tuple[int, str, str | None]]) -> AccountSection:
    section = AccountSection(line=start)
    for n, key, value in _block(start, "СекцияРасчСчет", "КонецРасчСчет", lines):
        folded = key.casefold()
        try:
            if folded == "расчсчет":
                section.account = value
            elif folded == "датаначала":
                section.start = day(value)
            elif folded == "датаконца":
                section.end = day(value)
            elif folded in _BALANCES:
                setattr(section, _BALANCES[folded], minor_units(value))
        except ValueProblem as e:
            section.problems.append(Problem(n, key, str(e)))
    return section


_BALANCES = {
    "начальныйостаток": "opening",
    "всегопоступило": "received",
    "всегосписано": "paid",
    "конечныйостаток": "closing",
}


def _document(start: int, kind: str, lines: Iterator[tuple[int, str, str | None]]) -> Document:
    doc = Document(line=start, kind=kind.strip('"').strip())
    at: dict[str, int] = {}
    for n, key, value in _block(start, "СекцияДокумент", "КонецДокумента", lines):
        doc.fields.setdefault(key, value)
        at.setdefault(key.casefold(), n)
    raw = {k.casefold(): v for k, v in reversed(list(doc.fields.items()))}

    def pick(name: str) -> tuple[str | None, str]:
        keys = _DOCUMENT_KEYS[name]
        for k, folded in keys:
            v = raw.get(folded)
            if v:
                return v, k
        return None, keys[0][0]

    def read(name: str, convert: Callable[[str], T]) -> T | None:
        value, key = pick(name)
        if value is None:
            return None
        try:
            return convert(value)
        except ValueProblem as e:
            doc.problems.append(Problem(at.get(key.casefold(), start), key, str(e)))
            return None

    doc.number = pick("number")[0]
    doc.currency = (pick("currency")[0] or "KZT").upper()
    if doc.currency == "398":  # ISO 4217 numeric code of the tenge
        doc.currency = "KZT"
    doc.date = read("date", day)
    doc.operation_date = read("operation_date", day)
    doc.knp = pick("knp")[0]
    doc.purpose = _purpose(raw)

    def amount(text: str) -> int:
        return minor_units(text, doc.currency)

    received, paid = read("received", amount), read("paid", amount)
    total = read("amount", amount)
    if received and paid:
        doc.problems.append(
            Problem(start, "СуммаПриход", "both СуммаПриход and СуммаРасход are set")
        )
    elif received:
        doc.amount, doc.direction = received, "in"
    elif paid:
        doc.amount, doc.direction = paid, "out"
    elif total is not None:
        doc.amount = total
    if doc.amount is None and not any(p.field.startswith("Сумма") for p in doc.problems):
        doc.problems.append(Problem(start, "Сумма", "the document has no amount"))
    doc.payer = _read_party(raw, _PAYER)
    doc.payee = _read_party(raw, _PAYEE)
    return doc


def _read_party(raw: dict[str, str], keys: dict[str, tuple[tuple[str, str], ...]]) -> Party:
    def first(names: tuple[tuple[str, str], ...]) -> str | None:
        for _, folded in names:
            value = raw.get(folded)
            if value:
                return value
        return None

    iik = first(keys["iik"])
    return Party(
        iik=iik.replace(" ", "").upper() if iik else None,
        bin=first(keys["bin"]),
        name=first(keys["name"]),
        kbe=first(keys["kbe"]),
        bic=first(keys["bic"]),
    )


def _purpose(raw: dict[str, str]) -> str | None:
    """``НазначениеПлатежа``, or the Russian layout's ``НазначениеПлатежа1..6`` joined."""
    whole = raw.get("назначениеплатежа")
    if whole:
        return whole
    parts = [raw[f"назначениеплатежа{i}"] for i in range(1, 7) if raw.get(f"назначениеплатежа{i}")]
    return " ".join(parts) or None
