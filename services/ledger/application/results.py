"""What a recording command answers, as types: routes branch on the type, not on a string.

Each result also has the plain form stored with its idempotency key (``response()``) and
is read back from that form on a replay (``from_response``); the stored form is what the
HTTP answer and the idempotency claim carry, unchanged from before results were typed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Registered:
    """A donor, programme or school entered the registry."""

    code: str

    def response(self) -> dict[str, Any]:
        return {"code": self.code}

    @classmethod
    def from_response(cls, stored: dict[str, Any]) -> Registered:
        return cls(code=stored["code"])


@dataclass(frozen=True)
class Posted:
    """An entry posted its legs; ``grant_id`` names the grant it belongs to, if any."""

    entry_id: str
    grant_id: str | None = None

    def response(self) -> dict[str, Any]:
        grant = {} if self.grant_id is None else {"grant_id": self.grant_id}
        return {**grant, "entry_id": self.entry_id}

    @classmethod
    def from_response(cls, stored: dict[str, Any]) -> Posted:
        return cls(entry_id=stored["entry_id"], grant_id=stored.get("grant_id"))


@dataclass(frozen=True)
class Pending:
    """A disbursement above the approval threshold: reserved, waiting for a second person."""

    grant_id: str
    entry_id: str
    expires_at: dt.datetime

    def response(self) -> dict[str, Any]:
        return {
            "grant_id": self.grant_id,
            "entry_id": self.entry_id,
            "status": "pending",
            "expires_at": self.expires_at.isoformat(),
        }

    @classmethod
    def from_response(cls, stored: dict[str, Any]) -> Pending:
        return cls(
            grant_id=stored["grant_id"],
            entry_id=stored["entry_id"],
            expires_at=dt.datetime.fromisoformat(stored["expires_at"]),
        )


@dataclass(frozen=True)
class Reduced:
    """A grant's undisbursed commitment reduced by ``amount`` minor units."""

    grant_id: str
    entry_id: str
    amount: int

    def response(self) -> dict[str, Any]:
        return {"grant_id": self.grant_id, "entry_id": self.entry_id, "amount": self.amount}

    @classmethod
    def from_response(cls, stored: dict[str, Any]) -> Reduced:
        return cls(
            grant_id=stored["grant_id"], entry_id=stored["entry_id"], amount=stored["amount"]
        )


@dataclass(frozen=True)
class Reversed:
    """A new entry that reverses ``reverses``."""

    entry_id: str
    reverses: str

    def response(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "reverses": self.reverses}

    @classmethod
    def from_response(cls, stored: dict[str, Any]) -> Reversed:
        return cls(entry_id=stored["entry_id"], reverses=stored["reverses"])


Decision = Literal["approved", "rejected", "expired"]


@dataclass(frozen=True)
class Decided:
    """A pending disbursement approved (posted), rejected or expired (released)."""

    grant_id: str
    entry_id: str
    status: Decision

    def response(self) -> dict[str, Any]:
        return {"grant_id": self.grant_id, "entry_id": self.entry_id, "status": self.status}

    @classmethod
    def from_response(cls, stored: dict[str, Any]) -> Decided:
        return cls(
            grant_id=stored["grant_id"], entry_id=stored["entry_id"], status=stored["status"]
        )


@dataclass(frozen=True)
class PeriodChanged:
    """A fiscal period closed or reopened."""

    period: str
    status: Literal["closed", "open"]

    def response(self) -> dict[str, Any]:
        return {"period": self.period, "status": self.status}

    @classmethod
    def from_response(cls, stored: dict[str, Any]) -> PeriodChanged:
        return cls(period=stored["period"], status=stored["status"])


@dataclass(frozen=True)
class BankAccountRecorded:
    """A bank account registered, changed or closed; ``status`` is what it is now."""

    iik: str
    party_kind: str
    party: str
    status: Literal["open", "closed"]

    def response(self) -> dict[str, Any]:
        return {
            "iik": self.iik,
            "party_kind": self.party_kind,
            "party": self.party,
            "status": self.status,
        }

    @classmethod
    def from_response(cls, stored: dict[str, Any]) -> BankAccountRecorded:
        return cls(
            iik=stored["iik"],
            party_kind=stored["party_kind"],
            party=stored["party"],
            status=stored["status"],
        )


@dataclass(frozen=True)
class ImportRecorded:
    """An import run was recorded, with what it recorded and refused."""

    import_id: str

    def response(self) -> dict[str, Any]:
        return {"import_id": self.import_id}

    @classmethod
    def from_response(cls, stored: dict[str, Any]) -> ImportRecorded:
        return cls(import_id=stored["import_id"])


Result = (
    Registered
    | Posted
    | Pending
    | Reduced
    | Reversed
    | Decided
    | PeriodChanged
    | BankAccountRecorded
    | ImportRecorded
)
