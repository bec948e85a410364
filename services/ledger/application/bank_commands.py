"""Commands that register, change and close the bank accounts of schools and donors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger.application.command import Command
from ledger.application.core import LedgerCore, _read
from ledger.application.results import BankAccountRecorded
from ledger.application.unit_of_work import Context, Recorded, UnitOfWork
from ledger.domain.bank_accounts import (
    BankAccount,
    BankAccountList,
    bank_account_id,
    bank_account_list_id,
    check_party,
)
from ledger.domain.banking import check_iik, normalise_iik
from ledger.domain.donor import Donor
from ledger.domain.errors import NotFound
from ledger.domain.registry import School, registry_id


def _check_party_exists(uow: UnitOfWork, party_kind: str, party: str) -> None:
    check_party(party_kind, party)
    cls: type[School] | type[Donor] = School if party_kind == "school" else Donor
    uow.get(cls, registry_id(party_kind, party), f"{party_kind} {party!r}")


@dataclass(frozen=True)
class _BankAccountCommand(Command):
    result_type = BankAccountRecorded

    party_kind: str
    party: str
    iik: str

    def __post_init__(self) -> None:
        # Statements and people write IIKs with spaces and in lower case; one IIK is one key.
        object.__setattr__(self, "iik", normalise_iik(self.iik))

    def _account(self, uow: UnitOfWork) -> BankAccount:
        return uow.get(
            BankAccount, bank_account_id(self.iik), f"bank account {self.iik}", target=True
        )

    def _answer(self, account: BankAccount) -> BankAccountRecorded:
        return BankAccountRecorded(
            iik=account.iik,
            party_kind=self.party_kind,
            party=self.party,
            status="open" if account.current is not None else "closed",
        )


@dataclass(frozen=True)
class RegisterBankAccount(_BankAccountCommand):
    """A school's or donor's account: new, or an IIK whose last holding was closed."""

    command_name = "register_bank_account"

    bic: str
    bin: str
    kbe: str | None
    valid_from: dt.date

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> BankAccountRecorded:
        meta = uow.ctx.meta()
        _check_party_exists(uow, self.party_kind, self.party)
        iik = check_iik(self.iik)
        details = self.arguments("iik")
        if uow.exists(bank_account_id(iik)):
            account = self._account(uow)
            account.reassign(**details, **meta)
        else:
            account = BankAccount.register(iik=iik, **details, **meta)
        listed_id = bank_account_list_id(self.party_kind, self.party)
        if uow.exists(listed_id):
            listed = uow.get(BankAccountList, listed_id, "bank account list", lock=True)
            listed.add(iik=iik, **meta)
        else:
            listed = BankAccountList.start(
                party_kind=self.party_kind, party=self.party, iik=iik, **meta
            )
        uow.add(account, listed)
        return self._answer(account)


@dataclass(frozen=True)
class ChangeBankAccount(_BankAccountCommand):
    """New bank details (BIC, BIN, KBe) for an open account, valid from a date."""

    command_name = "change_bank_account"

    bic: str
    bin: str
    kbe: str | None
    valid_from: dt.date

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> BankAccountRecorded:
        account = self._account(uow)
        account.change(**self.arguments("iik"), **uow.ctx.meta())
        uow.add(account)
        return self._answer(account)


@dataclass(frozen=True)
class CloseBankAccount(_BankAccountCommand):
    command_name = "close_bank_account"

    valid_to: dt.date
    reason: str

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> BankAccountRecorded:
        account = self._account(uow)
        account.close(**self.arguments("iik"), **uow.ctx.meta())
        uow.add(account)
        return self._answer(account)


class BankAccountCommands(LedgerCore):
    def register_bank_account(
        self,
        ctx: Context,
        *,
        party_kind: str,
        party: str,
        iik: str,
        bic: str,
        bin: str,
        kbe: str | None,
        valid_from: dt.date,
    ) -> Recorded:
        command = RegisterBankAccount(
            party_kind=party_kind,
            party=party,
            iik=iik,
            bic=bic,
            bin=bin,
            kbe=kbe,
            valid_from=valid_from,
        )
        return self._run_command(ctx, command)

    def change_bank_account(
        self,
        ctx: Context,
        *,
        party_kind: str,
        party: str,
        iik: str,
        bic: str,
        bin: str,
        kbe: str | None,
        valid_from: dt.date,
    ) -> Recorded:
        command = ChangeBankAccount(
            party_kind=party_kind,
            party=party,
            iik=iik,
            bic=bic,
            bin=bin,
            kbe=kbe,
            valid_from=valid_from,
        )
        return self._run_command(ctx, command)

    def close_bank_account(
        self,
        ctx: Context,
        *,
        party_kind: str,
        party: str,
        iik: str,
        valid_to: dt.date,
        reason: str,
    ) -> Recorded:
        command = CloseBankAccount(
            party_kind=party_kind,
            party=party,
            iik=iik,
            valid_to=valid_to,
            reason=reason,
        )
        return self._run_command(ctx, command)

    # -- reads ----------------------------------------------------------------------

    def bank_accounts_of(self, party_kind: str, party: str) -> list[BankAccount]:
        """Every IIK the party ever held (each with all its holdings), oldest first."""
        check_party(party_kind, party)
        cls: type[School] | type[Donor] = School if party_kind == "school" else Donor
        _read(self, cls, registry_id(party_kind, party))
        try:
            listed = _read(self, BankAccountList, bank_account_list_id(party_kind, party))
        except NotFound:
            return []
        return [_read(self, BankAccount, bank_account_id(iik)) for iik in listed.iiks]

    def find_bank_account(self, iik: str) -> BankAccount | None:
        """The account of an IIK as the ledger knows it, or None (for imports)."""
        try:
            return _read(self, BankAccount, bank_account_id(normalise_iik(iik)))
        except NotFound:
            return None
