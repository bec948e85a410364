"""Kazakh bank identifiers: IIK (an IBAN), BIN/IIN, BIC, KBe and KNP codes.

An IIK is ``KZ`` + 2 check digits + a 3-digit bank code + 13 account characters, checked
by ISO 13616's mod-97 rule. A BIN (organisations) or IIN (individuals) is 12 digits whose
last is a check digit: the weighted sum of the first 11 mod 11, with a second set of
weights when the first gives 10 (a number for which both give 10 is never issued).
"""

from __future__ import annotations

import re

from ledger.domain.errors import InvalidValue

IIK = re.compile(r"^KZ\d{2}\d{3}[0-9A-Z]{13}$")
BIC = re.compile(r"^[A-Z]{4}KZ[0-9A-Z]{2}([0-9A-Z]{3})?$")
KBE = re.compile(r"^[12][0-9]$")
KNP = re.compile(r"^\d{3}$")
_FIRST = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_SECOND = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def normalise_iik(text: str) -> str:
    """Upper case without the spaces people and statements put in for readability."""
    return re.sub(r"\s+", "", text).upper()


def iban_check_ok(iban: str) -> bool:
    """ISO 13616: the country code and check digits moved to the end, letters as 10..35,
    the whole number mod 97 is 1."""
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def check_iik(text: str, what: str = "IIK") -> str:
    """The normalised IIK, or ``InvalidValue`` naming what is wrong with it."""
    iik = normalise_iik(text)
    if not IIK.match(iik):
        raise InvalidValue(
            f"{what} {text!r} is not a Kazakh IIK: KZ, 2 check digits, a 3-digit bank code "
            "and 13 letters or digits (20 characters)"
        )
    if not iban_check_ok(iik):
        raise InvalidValue(f"{what} {text!r} fails the IBAN check digits (mod 97)")
    return iik


def bin_check_digit(first_eleven: str) -> int | None:
    """The check digit for 11 digits, or None where no valid number exists."""
    digits = [int(c) for c in first_eleven]
    for weights in (_FIRST, _SECOND):
        rest = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if rest != 10:
            return rest
    return None


def check_bin(text: str, what: str = "BIN") -> str:
    """A 12-digit BIN or IIN with a valid check digit, or ``InvalidValue``."""
    value = text.strip()
    if not re.fullmatch(r"\d{12}", value):
        raise InvalidValue(f"{what} {text!r} must be 12 digits")
    if bin_check_digit(value[:11]) != int(value[11]):
        raise InvalidValue(f"{what} {text!r} has a wrong check digit")
    return value


def check_bic(text: str, what: str = "BIC") -> str:
    value = text.strip().upper()
    if not BIC.match(value):
        raise InvalidValue(f"{what} {text!r} is not a Kazakh bank's BIC (e.g. HSBKKZKX)")
    return value


def check_kbe(text: str, what: str = "KBe") -> str:
    """Economic sector code: residency (1 or 2) and sector (0-9)."""
    value = text.strip()
    if not KBE.match(value):
        raise InvalidValue(f"{what} {text!r} must be two digits: residency 1 or 2, then sector")
    return value


def check_knp(text: str, what: str = "KNP") -> str:
    """Payment purpose code of the National Bank: three digits."""
    value = text.strip()
    if not KNP.match(value):
        raise InvalidValue(f"{what} {text!r} must be three digits")
    return value
