"""Realistic 1CClientBankExchange statements and bank identifiers for the tests."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from ledger.domain.banking import bin_check_digit

# Document kinds as different banks write them.
KINDS = ("Платежное поручение", "выписка", '"Выписка"')
BANKS = {"722": "CASPKZKA", "601": "HSBKKZKX", "856": "KCJBKZKX", "998": "TSESKZKA"}


def iik(bank: str, account: str) -> str:
    """A valid IIK: bank code and 13 account characters, with their IBAN check digits."""
    body = bank + account
    digits = "".join(str(int(c, 36)) for c in body + "KZ00")
    return f"KZ{98 - int(digits) % 97:02d}{body}"


def bin_(prefix: str) -> str:
    """A valid BIN from 11 digits (the prefix is padded; a prefix with no check digit is bumped)."""
    n = int(prefix.ljust(11, "0"))
    while (check := bin_check_digit(f"{n:011d}")) is None:
        n += 1
    return f"{n:011d}{check}"


@dataclass(frozen=True)
class Org:
    name: str
    iik: str
    bin: str
    kbe: str = "18"

    @property
    def bic(self) -> str:
        return BANKS[self.iik[4:7]]


FUND = Org('Общественный фонд "Қазақстан халқына"', iik("601", "0000000000001"), bin_("20124000"))
SCHOOL = Org(
    'КГУ "Опорная школа Хромтау" = ресурсный центр', iik("722", "S000001674774"), bin_("95064000")
)
SUPPLIER = Org('ТОО "Білім-Жабдық"', iik("856", "2203124676325"), bin_("18114000"), "17")


# Kazakh letters missing from the Cyrillic code pages, as banks' cp1251/cp866 exports replace them.
_CODEPAGE = str.maketrans("ӘәҒғҚқҢңӨөҰұҮүҺһІі", "АаГгКкНнОоУуУуХхИи")


def for_codepage(text: str) -> str:
    return text.translate(_CODEPAGE)


def _amount(minor: int) -> str:
    major, minor_part = divmod(minor, 100)
    return f"{major}.{minor_part:02d}"


def statement(
    account: Org,
    lines: list[tuple[Org, Org, int, str, str]],
    *,
    start: dt.date = dt.date(2025, 3, 1),
    encoding: str = "Windows",
    opening: int = 0,
    russian_layout: bool = False,
    tamper_closing: int = 0,
) -> str:
    """A statement of ``account``: lines are (payer, payee, minor units, number, purpose)."""
    end = start + dt.timedelta(days=30)
    received = sum(a for p, q, a, _, _ in lines if q == account)
    paid = sum(a for p, q, a, _, _ in lines if p == account)
    out = [
        "1CClientBankExchange",
        "ВерсияФормата=1.03",
        f"Кодировка={encoding}",
        "Отправитель=Halyk Homebank",
        "Получатель=1С:Бухгалтерия для Казахстана",
        f"ДатаСоздания={end:%d.%m.%Y}",
        "ВремяСоздания=18:11:22",
        f"ДатаНачала={start:%d.%m.%Y}",
        f"ДатаКонца={end:%d.%m.%Y}",
        f"РасчСчет={account.iik}",
        "СекцияРасчСчет",
        f"ДатаНачала={start:%d.%m.%Y}",
        f"ДатаКонца={end:%d.%m.%Y}",
        f"РасчСчет={account.iik}",
        f"НачальныйОстаток={_amount(opening)}",
        f"ВсегоПоступило={_amount(received)}",
        f"ВсегоСписано={_amount(paid)}",
        f"КонечныйОстаток={_amount(opening + received - paid + tamper_closing)}",
        "КонецРасчСчет",
    ]
    rng = random.Random(len(lines))
    for i, (payer, payee, amount, number, purpose) in enumerate(lines):
        on = start + dt.timedelta(days=i % 30)
        if russian_layout:
            out += [
                "СекцияДокумент=Платежное поручение",
                f"Номер={number}",
                f"Дата={on:%d.%m.%Y}",
                f"Сумма={_amount(amount)}",
                f"ПлательщикСчет={payer.iik}",
                f"ПлательщикИНН={payer.bin}",
                f"Плательщик1={payer.name}",
                f"ПолучательСчет={payee.iik}",
                f"ПолучательИНН={payee.bin}",
                f"Получатель1={payee.name}",
                f"НазначениеПлатежа1={purpose[:40]}",
                f"НазначениеПлатежа2={purpose[40:]}",
                f"{'ДатаПоступило' if payee == account else 'ДатаСписано'}={on:%d.%m.%Y}",
                "КонецДокумента",
            ]
            continue
        direction = "СуммаПриход" if payee == account else "СуммаРасход"
        doc = [
            "СекцияДокумент=" + rng.choice(KINDS),
            f"НомерДокумента={number}",
            f"ДатаДокумента={on:%d.%m.%Y}",
            "ВидДокумента=ПлатежноеПоручение",
            f"ПлательщикНаименование={payer.name}",
            f"ПлательщикБИН_ИИН={payer.bin}",
            f"ПлательщикИИК={payer.iik}",
            f"ПлательщикБанкБИК={payer.bic}",
            f"ПлательщикКБЕ={payer.kbe}",
            f"ПолучательНаименование={payee.name}",
            f"ПолучательБИН_ИИН={payee.bin}",
            f"ПолучательИИК={payee.iik}",
            f"ПолучательБанкБИК={payee.bic}",
            f"ПолучательКБЕ={payee.kbe}",
            f"{direction}={_amount(amount)}",
            f"ДатаОперации={on:%d.%m.%Y}",
            f"НазначениеПлатежа={purpose}",
            "КодНазначенияПлатежа=" + ("119" if payee == SUPPLIER else "311"),
            "Валюта=KZT",
            "КонецДокумента",
        ]
        out += doc
    out.append("КонецФайла")
    return "\r\n".join(out) + "\r\n"


def school_lines(n: int, seed: int = 7) -> list[tuple[Org, Org, int, str, str]]:
    """``n`` payments of the school's account: tranches in, purchases out (never below zero)."""
    rng = random.Random(seed)
    lines: list[tuple[Org, Org, int, str, str]] = []
    cash = 0
    for i in range(n):
        if cash < 50_000_000 or rng.random() < 0.2:
            amount = rng.randrange(100_000_00, 10_000_000_00)
            purpose = f"Транш гранта №{i} по договору AGR-2025-051"
            lines.append((FUND, SCHOOL, amount, f"PP-{i:06d}", purpose))
            cash += amount
        else:
            amount = rng.randrange(1_00, min(cash, 5_000_000_00))
            purpose = f'Оплата по счёту №{i} за "Жабдық" (парта=30 дана), КНП=119; ҚҚС жоқ'
            lines.append((SCHOOL, SUPPLIER, amount, f"{i:07d}", purpose))
            cash -= amount
    return lines
