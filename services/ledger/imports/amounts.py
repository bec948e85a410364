"""Amounts and dates as statements and registers write them, read exactly."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from ledger.domain.money import ISO_4217_EXPONENTS

_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class ValueProblem(ValueError):
    """A value that cannot be read; the message says what was expected."""


def minor_units(text: str, currency: str = "KZT") -> int:
    """``250 000 000,00`` or ``250000000.00`` (major units) as an exact integer of minor units.

    Spaces (also no-break spaces) group digits; a comma or a point separates the
    fraction, which may not be longer than the currency has digits.
    """
    exponent = ISO_4217_EXPONENTS.get(currency)
    if exponent is None:
        raise ValueProblem(f"unknown currency {currency!r}")
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".")
    if not re.fullmatch(r"\d+(\.\d+)?", cleaned):
        raise ValueProblem(
            f"{text!r} is not an amount (digits, then optionally , or . and a fraction)"
        )
    try:
        value = Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only decimals
        raise ValueProblem(f"{text!r} is not an amount") from None
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueProblem(f"{text!r} has more than {exponent} decimal places for {currency}")
    return int(scaled)


def day(text: str) -> dt.date:
    """``dd.mm.yyyy`` (statements, ru/kk registers) or ``yyyy-mm-dd``."""
    value = text.strip()
    if (m := _DATE.match(value)) is not None:
        d, mo, y = (int(g) for g in m.groups())
    elif (m := _ISO.match(value)) is not None:
        y, mo, d = (int(g) for g in m.groups())
    else:
        raise ValueProblem(f"{text!r} is not a date (dd.mm.yyyy)")
    try:
        return dt.date(y, mo, d)
    except ValueError:
        raise ValueProblem(f"{text!r} is not a calendar date") from None
