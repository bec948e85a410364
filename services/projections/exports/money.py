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
