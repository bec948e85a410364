"""Field types shared by the API models: money, dates, codes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt

MAX_AMOUNT = 10**15


def _iso_date_only(value: Any) -> Any:
    # Lax pydantic would read 1700000000 as a date; a finance API takes YYYY-MM-DD only.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or len(value) != 10:
        msg = "must be a date as YYYY-MM-DD"
        raise ValueError(msg)
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_only)]

AmountMinor = Annotated[
    StrictInt,
    Field(
        gt=0,
        le=MAX_AMOUNT,
        description="Amount in minor units of the currency (tiyn for KZT: 1 KZT = 100 tiyn); "
        "a positive integer, at most 10^15.",
        examples=[25_000_000_000],
    ),
]
Currency = Annotated[
    str,
    Field(
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 currency code.",
        examples=["KZT"],
    ),
]
Code = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9-]{1,63}$",
        description="Stable lower-case code (letters, digits, hyphens); used in account names.",
        examples=["aktobe-khromtau-hub"],
    ),
]
Slug = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9-]{1,47}$",
        description="Lower-case category or kind, e.g. equipment, teacher-training.",
        examples=["equipment"],
    ),
]
# Printable text only. A NUL is refused by PostgreSQL text columns, so one recorded NUL
# would stall the read-model projection; other control characters garble exports and logs.
SINGLE_LINE = r"^[^\x00-\x1f\x7f]*$"
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # also tab, CR and LF

Reference = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=SINGLE_LINE,
        description="External reference: agreement, payment order or invoice number.",
    ),
]
Reason = Annotated[
    str, Field(min_length=1, max_length=500, pattern=MULTI_LINE, description="Why, in words.")
]
Description = Annotated[
    str, Field(max_length=500, pattern=MULTI_LINE, description="Free-text description.")
]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=SINGLE_LINE, description="Name.")]


class Command(BaseModel):
    """A recording request: unknown fields are refused, so a typo never records silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class View(BaseModel):
    model_config = ConfigDict(extra="forbid")
