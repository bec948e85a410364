"""Languages of the console: gettext catalogues, and amounts and dates as people write them.

Catalogues are compiled ``.mo`` files shipped in the package (``locale/<lang>/LC_MESSAGES``);
``pybabel compile`` regenerates them from the ``.po`` sources (see the README's console
section). English is the source language: its catalogue may leave messages untranslated.
"""

from __future__ import annotations

import datetime as dt
import gettext
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from ledger.domain.money import ISO_4217_EXPONENTS

LANGUAGES = ("ru", "kk", "en")
DEFAULT_LANGUAGE = "ru"
LANGUAGE_NAMES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
# Non-breaking space: an amount never wraps inside a table cell.
NBSP = "\u00a0"
SYMBOLS = {"KZT": "₸"}


def N_(message: str) -> str:  # noqa: N802 (gettext's name for a marker)
    """Marks a message for the catalogues; it is translated where it is shown."""
    return message


REGION_NAMES = {
    "abai": N_("Abai region"),
    "akmola": N_("Akmola region"),
    "aktobe": N_("Aktobe region"),
    "almaty": N_("Almaty region"),
    "almaty-city": N_("Almaty city"),
    "astana": N_("Astana city"),
    "atyrau": N_("Atyrau region"),
    "east-kazakhstan": N_("East Kazakhstan region"),
    "jambyl": N_("Jambyl region"),
    "jetisu": N_("Jetisu region"),
    "karaganda": N_("Karaganda region"),
    "kostanay": N_("Kostanay region"),
    "kyzylorda": N_("Kyzylorda region"),
    "mangystau": N_("Mangystau region"),
    "north-kazakhstan": N_("North Kazakhstan region"),
    "pavlodar": N_("Pavlodar region"),
    "shymkent": N_("Shymkent city"),
    "turkistan": N_("Turkistan region"),
    "ulytau": N_("Ulytau region"),
    "west-kazakhstan": N_("West Kazakhstan region"),
}


@cache
def translations(language: str) -> gettext.NullTranslations:
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def pick_language(cookie: str | None, accept: str | None) -> str:
    """The remembered choice, else the first supported language the browser asks for."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept or "").split(","):
        tag = part.split(";", 1)[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return separator.join(parts)


def exponent(currency: str) -> int:
    return ISO_4217_EXPONENTS.get(currency, 2)


def number(minor: int, currency: str, language: str) -> str:
    """Minor units as a decimal number, grouped: 250 000 000,00 (ru, kk), 250,000,000.00 (en)."""
    places = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**places)
    group, point = (",", ".") if language == "en" else (NBSP, ",")
    text = _group(str(whole), group)
    if places:
        text += point + str(fraction).zfill(places)
    return sign + text


def money(minor: int, currency: str, language: str) -> str:
    """``250 000 000,00 ₸`` in ru/kk, ``KZT 250,000,000.00`` in en."""
    amount = number(minor, currency, language)
    if language == "en":
        return f"{currency}{NBSP}{amount}"
    return f"{amount}{NBSP}{SYMBOLS.get(currency, currency)}"


def parse_amount(text: str, currency: str, language: str) -> int | None:
    """What a person typed (``1 000 000,50`` or ``1,000,000.50``) in minor units; None if
    it is not an amount in this currency. Range and sign are the API's to judge."""
    cleaned = text.strip().replace(NBSP, "").replace(" ", "").replace("\u202f", "")
    # A comma groups thousands in English and marks the decimals in Russian and Kazakh.
    cleaned = cleaned.replace(",", "") if language == "en" else cleaned.replace(",", ".")
    if not cleaned or len(cleaned) > 32:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    minor = value.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        return None
    return int(minor)


def date(value: dt.date | str | None, language: str) -> str:
    """dd.mm.yyyy in ru/kk; ISO (yyyy-mm-dd) in en."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.isoformat() if language == "en" else value.strftime("%d.%m.%Y")


def moment(value: dt.datetime | str | None, language: str, zone: str) -> str:
    """A recorded time in the programme's zone, to the minute."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(ZoneInfo(zone))
    return f"{date(local.date(), language)} {local:%H:%M}"


# Values the API answers with that a page shows in words: entry kinds, grant and approval
# statuses. Marked here so the catalogues carry them.
VOCABULARY = (
    N_("commitment"),
    N_("disbursement"),
    N_("reduction"),
    N_("expenditure"),
    N_("operating-cost"),
    N_("in-kind"),
    N_("reversal"),
    N_("open"),
    N_("fully-disbursed"),
    N_("cancelled"),
    N_("pending"),
    N_("approved"),
    N_("rejected"),
    N_("expired"),
)
