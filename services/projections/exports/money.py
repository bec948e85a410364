"""Integer minor units as exact decimal text: divmod, never binary fractions."""

from __future__ import annotations

from ledger.domain.money import ISO_4217_EXPONENTS


def exponent(currency: str) -> int:
    # The read models only hold currencies the domain accepted, so the table has them.
    return ISO_4217_EXPONENTS[currency]


def decimal_text(amount: int, currency: str) -> str:
    """``-1234567`` KZT -> ``"-12345.67"``; exactly as many decimals as the currency has."""
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    if places == 0:
        return f"{sign}{abs(amount)}"
    major, minor = divmod(abs(amount), 10**places)
    return f"{sign}{major}.{minor:0{places}d}"


def commodity_amount(amount: int, currency: str) -> str:
    """An hledger/ledger amount: number first, commodity after, no digit grouping,
    so both tools parse and print it identically."""
    return f"{decimal_text(amount, currency)} {currency}"


def display_amount(amount: int, currency: str) -> str:
    """For people (tables, CLI): ``25000000000`` KZT -> ``"250,000,000.00 KZT"``."""
    text = decimal_text(amount, currency)
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    major, dot, minor = digits.partition(".")
    return f"{sign}{int(major):,}{dot}{minor} {currency}"


def decimal_cell(amount: int, currency: str) -> str:
    """A CSV cell in major units; blank where a row has no currency (nothing posted)."""
    return decimal_text(amount, currency) if currency else ""
