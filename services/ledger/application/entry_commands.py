"""Commands outside grants: spending, operating costs, in-kind gifts, reversals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from ledger.application.command import WHEN_GIVEN, Command
from ledger.application.core import LedgerCore
from ledger.application.results import Posted, Reversed
from ledger.application.unit_of_work import Context, Recorded, UnitOfWork
from ledger.domain.account import SchoolAccount, account_id
from ledger.domain.donor import Donor
from ledger.domain.entries import EntryLocator, EntryOwner, new_locator
from ledger.domain.grant import Grant
from ledger.domain.registry import Programme, School, registry_id

OWNER_TYPES: dict[str, type[EntryOwner]] = {
    "Grant": Grant,
    "Donor": Donor,
    "SchoolAccount": SchoolAccount,
}


def _check_programme(uow: UnitOfWork, programme: str | None) -> Programme | None:
    if programme is None:
        return None
    return uow.get(Programme, registry_id("programme", programme), f"programme {programme!r}")


def _source(uow: UnitOfWork, grant_id: UUID | None, programme: str | None) -> dict[str, Any]:
    """The grant or programme an entry names as where its money came from, loaded (the
    domain checks the grant is the school's)."""
    grant = uow.get(Grant, grant_id, f"grant {grant_id}") if grant_id is not None else None
    return {"from_grant": grant, "from_programme": _check_programme(uow, programme)}


# Where the money came from: fields added after requests were recorded (see WHEN_GIVEN).
_FROM = ("from_grant", "from_programme")


@dataclass(frozen=True)
class RecordExpenditure(Command):
    command_name = "record_expenditure"
    result_type = Posted

    school: str
    amount: int
    currency: str
    category: str
    value_date: dt.date
    reference: str
    description: str = ""
    from_grant: UUID | None = field(default=None, metadata=WHEN_GIVEN)
    from_programme: str | None = field(default=None, metadata=WHEN_GIVEN)

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Posted:
        uow.check_open(self.value_date, "an expenditure")
        account = uow.get(
            SchoolAccount, account_id(self.school), f"school {self.school!r}", target=True
        )
        source = _source(uow, self.from_grant, self.from_programme)
        entry_id = str(uuid4())
        account.spend(
            entry_id=entry_id, **self.arguments("school", *_FROM), **source, **uow.ctx.meta()
        )
        uow.add(account, new_locator(entry_id, "expenditure", account, **uow.ctx.meta()))
        return Posted(entry_id=entry_id)


@dataclass(frozen=True)
class CoverOperatingCost(Command):
    command_name = "cover_operating_cost"
    result_type = Posted

    donor: str
    amount: int
    currency: str
    category: str
    programme: str | None
    value_date: dt.date
    reference: str
    description: str = ""

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Posted:
        uow.check_open(self.value_date, "an operating cost")
        donor_id = registry_id("donor", self.donor)
        donor = uow.get(Donor, donor_id, f"donor {self.donor!r}", target=True)
        _check_programme(uow, self.programme)
        entry_id = str(uuid4())
        donor.cover_operating_cost(entry_id=entry_id, **self.arguments("donor"), **uow.ctx.meta())
        uow.add(donor, new_locator(entry_id, "operating-cost", donor, **uow.ctx.meta()))
        return Posted(entry_id=entry_id)


@dataclass(frozen=True)
class ContributeInKind(Command):
    command_name = "contribute_in_kind"
    result_type = Posted

    donor: str
    kind: str
    fair_value: int
    currency: str
    valuation_basis: str
    quantities: dict[str, int]
    school: str | None
    programme: str | None
    value_date: dt.date
    from_grant: UUID | None = field(default=None, metadata=WHEN_GIVEN)
    from_programme: str | None = field(default=None, metadata=WHEN_GIVEN)

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Posted:
        uow.check_open(self.value_date, "an in-kind contribution")
        donor_id = registry_id("donor", self.donor)
        donor = uow.get(Donor, donor_id, f"donor {self.donor!r}", target=True)
        if self.school is not None:
            uow.get(School, registry_id("school", self.school), f"school {self.school!r}")
        _check_programme(uow, self.programme)
        source = _source(uow, self.from_grant, self.from_programme)
        entry_id = str(uuid4())
        donor.contribute_in_kind(
            entry_id=entry_id, **self.arguments("donor", *_FROM), **source, **uow.ctx.meta()
        )
        uow.add(donor, new_locator(entry_id, "in-kind", donor, **uow.ctx.meta()))
        return Posted(entry_id=entry_id)


@dataclass(frozen=True)
class ReverseEntry(Command):
    """Reverse an entry; ``value_date=None`` dates the reversal today in the programme's
    zone (or on the entry's own value date, if that is later)."""

    command_name = "reverse_entry"
    result_type = Reversed

    entry_id: UUID
    reason: str
    value_date: dt.date | None = None

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Reversed:
        meta = uow.ctx.meta()
        locator = uow.get(EntryLocator, self.entry_id, f"entry {self.entry_id}")
        owner_type = OWNER_TYPES[locator.owner_type]
        owner = uow.get(owner_type, locator.owner_id, "entry owner", target=True)
        entry_date = _entry_value_date(app, owner, str(self.entry_id))
        # Today, unless the entry itself is dated later (within the horizon): a reversal
        # is never dated before what it reverses.
        dated = self.value_date or max(app.periods.today(), entry_date or dt.date.min)
        uow.check_open(dated, "a reversal")
        reversal_id = str(uuid4())
        reversed_entry = owner.reverse(
            entry_id=str(self.entry_id),
            reversal_entry_id=reversal_id,
            value_date=dated,
            reason=self.reason,
            recorded_value_date=entry_date,
            **meta,
        )
        uow.add(owner)
        if isinstance(owner, Grant) and reversed_entry.kind == "disbursement":
            account = uow.get(SchoolAccount, account_id(owner.school), "school account", lock=True)
            account.withdraw_for_reversal(
                entry_id=reversal_id,
                amount=reversed_entry.amount,
                currency=reversed_entry.currency,
                **meta,
            )
            uow.add(account)
        reverses = str(self.entry_id)
        uow.add(new_locator(reversal_id, "reversal", owner, reverses=reverses, **meta))
        return Reversed(entry_id=reversal_id, reverses=reverses)


def _entry_value_date(app: LedgerCore, owner: EntryOwner, entry_id: str) -> dt.date | None:
    """The entry's value date: from the owner's state, else (state restored from a
    snapshot older than entry value dates) from the event that recorded the entry."""
    known = owner.entry_value_date(entry_id)
    if known is not None or entry_id not in owner.entries:
        return known
    for event in app.events.get(owner.id, lte=owner.version):
        if getattr(event, "entry_id", None) == entry_id:
            found = getattr(event, "value_date", None)
            return found if isinstance(found, dt.date) else None
    return None


class EntryCommands(LedgerCore):
    # -- school expenditure, operating costs, in kind -------------------------------

    def record_expenditure(
        self,
        ctx: Context,
        *,
        school: str,
        amount: int,
        currency: str,
        category: str,
        value_date: dt.date,
        reference: str,
        description: str = "",
        from_grant: UUID | None = None,
        from_programme: str | None = None,
    ) -> Recorded:
        command = RecordExpenditure(
            school=school,
            amount=amount,
            currency=currency,
            category=category,
            value_date=value_date,
            reference=reference,
            description=description,
            from_grant=from_grant,
            from_programme=from_programme,
        )
        return self._run_command(ctx, command)

    def cover_operating_cost(
        self,
        ctx: Context,
        *,
        donor: str,
        amount: int,
        currency: str,
        category: str,
        programme: str | None,
        value_date: dt.date,
        reference: str,
        description: str = "",
    ) -> Recorded:
        command = CoverOperatingCost(
            donor=donor,
            amount=amount,
            currency=currency,
            category=category,
            programme=programme,
            value_date=value_date,
            reference=reference,
            description=description,
        )
        return self._run_command(ctx, command)

    def contribute_in_kind(
        self,
        ctx: Context,
        *,
        donor: str,
        kind: str,
        fair_value: int,
        currency: str,
        valuation_basis: str,
        quantities: dict[str, int],
        school: str | None,
        programme: str | None,
        value_date: dt.date,
        from_grant: UUID | None = None,
        from_programme: str | None = None,
    ) -> Recorded:
        command = ContributeInKind(
            donor=donor,
            kind=kind,
            fair_value=fair_value,
            currency=currency,
            valuation_basis=valuation_basis,
            quantities=quantities,
            school=school,
            programme=programme,
            value_date=value_date,
            from_grant=from_grant,
            from_programme=from_programme,
        )
        return self._run_command(ctx, command)

    # -- reversal ---------------------------------------------------------------------

    def reverse_entry(
        self, ctx: Context, *, entry_id: UUID, reason: str, value_date: dt.date | None = None
    ) -> Recorded:
        """Reverse an entry; ``value_date=None``: today in the programme's zone, or the
        entry's own value date if later. Never dated before the entry it reverses."""
        command = ReverseEntry(entry_id=entry_id, reason=reason, value_date=value_date)
        return self._run_command(ctx, command)
