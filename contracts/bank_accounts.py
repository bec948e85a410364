"""API models for the bank accounts of schools and donors."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.common import Command, IsoDate, Reason, View

IIK_PATTERN = r"^[Kk][Zz][0-9 ]{2,4}[0-9A-Za-z ]{16,24}$"

Iik = Field(
    pattern=IIK_PATTERN,
    max_length=32,
    description="IIK (IBAN form): KZ, 2 check digits, a 3-digit bank code and 13 characters; "
    "spaces are ignored. The check digits are verified.",
    examples=["KZ86125KZT5004100100"],
)
Bic = Field(
    pattern=r"^[A-Za-z0-9]{8}([A-Za-z0-9]{3})?$",
    description="The bank's BIC (SWIFT code), e.g. HSBKKZKX.",
    examples=["HSBKKZKX"],
)
Bin = Field(
    pattern=r"^\d{12}$",
    description="BIN of an organisation (IIN of a person): 12 digits, check digit verified.",
)
Kbe = Field(
    default=None,
    pattern=r"^\d{2}$",
    description="Beneficiary code (KBe): residency 1 or 2, then the economic sector.",
)


class RegisterBankAccount(Command):
    iik: str = Iik
    bic: str = Bic
    bin: str = Bin
    kbe: str | None = Kbe
    valid_from: IsoDate = Field(description="First day the account is the party's.")


class ChangeBankAccount(Command):
    bic: str = Bic
    bin: str = Bin
    kbe: str | None = Kbe
    valid_from: IsoDate = Field(
        description="First day the new details are valid; the old ones end the day before."
    )


class CloseBankAccount(Command):
    valid_to: IsoDate = Field(description="Last day the account is the party's.")
    reason: Reason


PartyKind = Literal["school", "donor"]


class BankAccountRecorded(View):
    iik: str = Field(description="The normalised IIK.")
    party_kind: PartyKind = Field(description="school or donor.")
    party: str = Field(description="Code of the school or donor.")
    status: Literal["open", "closed"] = Field(description="The account's state now.")
    position: int = Field(description="Log position of the recorded fact.")


class Holding(View):
    party_kind: PartyKind = Field(description="school or donor.")
    party: str = Field(description="Code of the school or donor.")
    bic: str = Field(description="The bank's BIC.")
    bin: str = Field(description="BIN or IIN of the holder.")
    kbe: str | None = Field(description="Beneficiary code.")
    valid_from: IsoDate = Field(description="First day of these details.")
    valid_to: IsoDate | None = Field(description="Last day of these details; null: still valid.")


class BankAccountView(View):
    iik: str = Field(description="The normalised IIK.")
    status: Literal["open", "closed"] = Field(description="Whether the party holds it now.")
    holdings: list[Holding] = Field(
        description="Every holding and change of details, oldest first (other parties' "
        "holdings of a reissued IIK included)."
    )
    version: int = Field(description="The account's version (its ETag).")


class BankAccountList(View):
    party_kind: PartyKind = Field(description="school or donor.")
    party: str = Field(description="Code of the school or donor.")
    accounts: list[BankAccountView] = Field(description="Every IIK the party ever held.")
