"""The columns of payment registers: what each kind of row carries, and the header names
payment departments write for them in Russian, Kazakh and English.

Headers are compared after folding: lower case, ``ё`` as ``е``, anything in brackets
dropped (``Сумма (тенге)``), and only letters and digits kept, so ``Value date``,
``value_date`` and ``VALUE-DATE`` are one header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ValueKind = Literal["text", "code", "amount", "date", "count", "currency"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: ValueKind
    headers: tuple[str, ...]
    # (Russian, Kazakh) header written in the templates of those languages.
    local: tuple[str, str]
    example: str


def fold(header: str) -> str:
    text = header.casefold().replace("ё", "е")
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", "", text)
    return "".join(ch for ch in text if ch.isalnum())


def _c(name: str, kind: ValueKind, ru: str, kk: str, example: str, *more: str) -> Column:
    return Column(name, kind, (name, ru, kk, *more), (ru, kk), example)


_REF = ("номер документа", "номер", "құжат нөмірі", "document number", "reference")
COLUMNS: dict[str, Column] = {
    c.name: c
    for c in (
        _c("grant_id", "text", "Идентификатор гранта", "Грант идентификаторы", "",
           "grant", "грант", "id гранта", "грант id"),
        _c("donor", "code", "Код донора", "Донор коды", "qazaqstan-halqyna",
           "донор", "donor code"),
        _c("school", "code", "Код школы", "Мектеп коды", "aktobe-khromtau-hub",
           "школа", "мектеп", "school code"),
        _c("programme", "code", "Код программы", "Бағдарлама коды", "hub-schools",
           "программа", "бағдарлама", "program", "programme code"),
        _c("amount", "amount", "Сумма", "Сомасы", "1 250 000,00", "сома", "amount kzt"),
        _c("fair_value", "amount", "Справедливая стоимость", "Әділ құны", "480 000,00",
           "стоимость", "құны", "fair value"),
        _c("currency", "currency", "Валюта", "Валютасы", "KZT", "валюта коды"),
        _c("value_date", "date", "Дата платежа", "Төлем күні", "15.03.2025",
           "дата", "күні", "date", "payment date", "дата операции"),
        _c("payment_reference", "text", "Номер платежного поручения",
           "Төлем тапсырмасының нөмірі", "PP-000123", "номер пп", "платежное поручение",
           "payment order", *_REF),
        _c("reference", "text", "Номер документа", "Құжат нөмірі", "СФ-2025/0412",
           "номер счета", "счет-фактура", "invoice", *_REF),
        _c("category", "code", "Категория", "Санаты", "equipment",
           "статья расходов", "санат", "шығыс бабы"),
        _c("kind", "code", "Вид помощи", "Көмек түрі", "teacher-training",
           "вид", "түрі", "in-kind kind"),
        _c("description", "text", "Описание", "Сипаттама", 'Парты "Жабдық" (30 шт.)',
           "назначение платежа", "төлем мақсаты", "purpose"),
        _c("valuation_basis", "text", "Основание оценки", "Бағалау негізі",
           "Cost of the training provider's invoice", "valuation"),
        _c("teachers_trained", "count", "Обучено учителей", "Оқытылған мұғалімдер", "25"),
        _c("hours", "count", "Часы", "Сағаттар", "72", "часов", "сағат"),
        _c("courses", "count", "Курсы", "Курстар", "3", "курсов"),
        _c("participants", "count", "Участники", "Қатысушылар", "40", "участников"),
        _c("schools_reached", "count", "Охвачено школ", "Қамтылған мектептер", "4"),
    )
}  # fmt: skip

QUANTITIES = ("teachers_trained", "hours", "courses", "participants", "schools_reached")

# Per kind of register: its columns, required ones first.
KINDS: dict[str, tuple[tuple[str, bool], ...]] = {
    "disbursements": (
        ("amount", True), ("value_date", True), ("payment_reference", True),
        ("grant_id", False), ("donor", False), ("school", False), ("currency", False),
    ),
    "expenditures": (
        ("school", True), ("amount", True), ("category", True), ("value_date", True),
        ("reference", True), ("description", False), ("currency", False),
    ),
    "operating-costs": (
        ("donor", True), ("amount", True), ("category", True), ("value_date", True),
        ("reference", True), ("programme", False), ("description", False), ("currency", False),
    ),
    "in-kind": (
        ("donor", True), ("kind", True), ("fair_value", True), ("valuation_basis", True),
        ("value_date", True), ("school", False), ("programme", False), ("currency", False),
        *((q, False) for q in QUANTITIES),
    ),
}  # fmt: skip


def aliases(kind: str) -> dict[str, str]:
    """Folded header -> column name, for the columns of ``kind``."""
    out: dict[str, str] = {}
    for name, _ in KINDS[kind]:
        for header in COLUMNS[name].headers:
            if folded := fold(header):
                out.setdefault(folded, name)
    return out


def header_row(kind: str, lang: str) -> list[str]:
    """The header a template of ``kind`` carries, in ``lang`` (en, ru or kk)."""
    index = {"ru": 0, "kk": 1}.get(lang)
    return [name if index is None else COLUMNS[name].local[index] for name, _ in KINDS[kind]]
