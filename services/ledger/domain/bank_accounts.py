"""Bank accounts of schools and donors: who held which IIK, with which details, when.

One aggregate per IIK, its id derived from the IIK (as registry ids are from codes): two
parties registering the same IIK at once collide on the same aggregate version in the
event store, so an IIK belongs to one party at a time without a lookup table or a lock.
An account's details change over the years and it may close; a closed IIK may later be
registered again (banks do reissue numbers), and every holding keeps its validity dates.

A second, small aggregate per party lists the IIKs it ever held, so a party's accounts
are found without scanning the log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain.banking import check_bic, check_bin, check_iik, check_kbe
from ledger.domain.errors import AlreadyExists, InvalidValue
from ledger.domain.registry import check_code, check_text, registry_id

PARTY_KINDS = frozenset({"school", "donor"})


def bank_account_id(iik: str) -> UUID:
    return registry_id("bank-account", iik)


def bank_account_list_id(party_kind: str, party: str) -> UUID:
    return registry_id("bank-account-list", f"{party_kind}:{party}")


def check_party(party_kind: str, party: str) -> tuple[str, str]:
    if party_kind not in PARTY_KINDS:
        raise InvalidValue(f"a bank account belongs to a school or a donor, not {party_kind!r}")
    return party_kind, check_code(party, f"{party_kind} code")


def _details(bic: str, bin: str, kbe: str | None) -> dict[str, Any]:
    return {
        "bic": check_bic(bic),
        "bin": check_bin(bin),
        "kbe": check_kbe(kbe) if kbe is not None else None,
    }


@dataclass(frozen=True)
class Holding:
    """One party's holding of the IIK, with the details valid from ``valid_from``."""

    party_kind: str
    party: str
    bic: str
    bin: str
    kbe: str | None
    valid_from: dt.date
    valid_to: dt.date | None = None

    def covers(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class BankAccount(Aggregate):
    """An IIK and the parties that held it, one at a time."""

    @staticmethod
    def create_id(iik: str, **_: Any) -> UUID:
        return bank_account_id(iik)

    @classmethod
    def register(
        cls,
        *,
        iik: str,
        party_kind: str,
        party: str,
        bic: str,
        bin: str,
        kbe: str | None,
        valid_from: dt.date,
        actor: str,
        idempotency_key: str,
    ) -> BankAccount:
        party_kind, party = check_party(party_kind, party)
        return cls(
            iik=check_iik(iik),
            party_kind=party_kind,
            party=party,
            valid_from=valid_from,
            actor=actor,
            idempotency_key=idempotency_key,
            **_details(bic, bin, kbe),
        )

    @event("Registered")
    def __init__(
        self,
        iik: str,
        party_kind: str,
        party: str,
        bic: str,
        bin: str,
        kbe: str | None,
        valid_from: dt.date,
        actor: str,
        idempotency_key: str,
    ) -> None:
        self.iik = iik
        self.holdings: list[Holding] = [Holding(party_kind, party, bic, bin, kbe, valid_from)]

    # -- reads ----------------------------------------------------------------------

    @property
    def current(self) -> Holding | None:
        """The open holding, if the account is not closed."""
        last = self.holdings[-1]
        return last if last.valid_to is None else None

    def holder_on(self, day: dt.date) -> Holding | None:
        return next((h for h in reversed(self.holdings) if h.covers(day)), None)

    def _open_holding_of(self, party_kind: str, party: str) -> Holding:
        current = self.current
        if current is None or (current.party_kind, current.party) != (party_kind, party):
            raise InvalidValue(f"IIK {self.iik} is not an open account of {party_kind} {party!r}")
        return current

    # -- commands -------------------------------------------------------------------

    def reassign(
        self,
        *,
        party_kind: str,
        party: str,
        bic: str,
        bin: str,
        kbe: str | None,
        valid_from: dt.date,
        actor: str,
        idempotency_key: str,
    ) -> None:
        """Register the IIK again: only once its last holding is closed, and after it."""
        party_kind, party = check_party(party_kind, party)
        current = self.current
        if current is not None:
            raise AlreadyExists(
                f"IIK {self.iik} belongs to {current.party_kind} {current.party!r} "
                f"since {current.valid_from}; it belongs to one party at a time"
            )
        closed = self.holdings[-1].valid_to
        assert closed is not None
        if valid_from <= closed:
            raise InvalidValue(f"IIK {self.iik} was held until {closed}; valid_from must be later")
        self._reassigned(
            iik=self.iik,
            party_kind=party_kind,
            party=party,
            valid_from=valid_from,
            actor=actor,
            idempotency_key=idempotency_key,
            **_details(bic, bin, kbe),
        )

    @event("Reassigned")
    def _reassigned(
        self,
        iik: str,
        party_kind: str,
        party: str,
        bic: str,
        bin: str,
        kbe: str | None,
        valid_from: dt.date,
        actor: str,
        idempotency_key: str,
    ) -> None:
        self.holdings.append(Holding(party_kind, party, bic, bin, kbe, valid_from))

    def change(
        self,
        *,
        party_kind: str,
        party: str,
        bic: str,
        bin: str,
        kbe: str | None,
        valid_from: dt.date,
        actor: str,
        idempotency_key: str,
    ) -> None:
        """New details from ``valid_from``; the earlier details stay valid until the day before."""
        current = self._open_holding_of(party_kind, party)
        if valid_from <= current.valid_from:
            raise InvalidValue(
                f"the details of IIK {self.iik} are valid from {current.valid_from}; "
                "a change takes effect later"
            )
        self._changed(
            iik=self.iik,
            party_kind=party_kind,
            party=party,
            valid_from=valid_from,
            actor=actor,
            idempotency_key=idempotency_key,
            **_details(bic, bin, kbe),
        )

    @event("Changed")
    def _changed(
        self,
        iik: str,
        party_kind: str,
        party: str,
        bic: str,
        bin: str,
        kbe: str | None,
        valid_from: dt.date,
        actor: str,
        idempotency_key: str,
    ) -> None:
        last = self.holdings[-1]
        self.holdings[-1] = Holding(
            last.party_kind, last.party, last.bic, last.bin, last.kbe, last.valid_from,
            valid_from - dt.timedelta(days=1),
        )  # fmt: skip
        self.holdings.append(Holding(party_kind, party, bic, bin, kbe, valid_from))

    def close(
        self,
        *,
        party_kind: str,
        party: str,
        valid_to: dt.date,
        reason: str,
        actor: str,
        idempotency_key: str,
    ) -> None:
        current = self._open_holding_of(party_kind, party)
        if valid_to < current.valid_from:
            raise InvalidValue(
                f"IIK {self.iik} is held from {current.valid_from}; it cannot close before"
            )
        self._closed(
            iik=self.iik,
            party_kind=party_kind,
            party=party,
            valid_to=valid_to,
            reason=check_text(reason, "reason", 500),
            actor=actor,
            idempotency_key=idempotency_key,
        )

    @event("Closed")
    def _closed(
        self,
        iik: str,
        party_kind: str,
        party: str,
        valid_to: dt.date,
        reason: str,
        actor: str,
        idempotency_key: str,
    ) -> None:
        last = self.holdings[-1]
        self.holdings[-1] = Holding(
            last.party_kind, last.party, last.bic, last.bin, last.kbe, last.valid_from, valid_to
        )


class BankAccountList(Aggregate):
    """The IIKs a school or donor ever held, in the order they were registered."""

    @staticmethod
    def create_id(party_kind: str, party: str, **_: Any) -> UUID:
        return bank_account_list_id(party_kind, party)

    @classmethod
    def start(
        cls, *, party_kind: str, party: str, iik: str, actor: str, idempotency_key: str
    ) -> BankAccountList:
        return cls(
            party_kind=party_kind,
            party=party,
            iik=iik,
            actor=actor,
            idempotency_key=idempotency_key,
        )

    @event("Started")
    def __init__(
        self, party_kind: str, party: str, iik: str, actor: str, idempotency_key: str
    ) -> None:
        self.party_kind = party_kind
        self.party = party
        self.iiks: list[str] = [iik]

    def add(self, *, iik: str, actor: str, idempotency_key: str) -> None:
        if iik not in self.iiks:
            self._added(
                party_kind=self.party_kind,
                party=self.party,
                iik=iik,
                actor=actor,
                idempotency_key=idempotency_key,
            )

    @event("Added")
    def _added(
        self, party_kind: str, party: str, iik: str, actor: str, idempotency_key: str
    ) -> None:
        self.iiks.append(iik)
