"""Commands that register donors, programmes and schools."""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.application.command import WHEN_GIVEN, Command
from ledger.application.core import LedgerCore, refuse_existing
from ledger.application.results import Registered
from ledger.application.unit_of_work import Context, Recorded, UnitOfWork
from ledger.domain.account import SchoolAccount
from ledger.domain.donor import Donor
from ledger.domain.registry import Programme, School, registry_id


@dataclass(frozen=True)
class RegisterDonor(Command):
    command_name = "register_donor"
    result_type = Registered

    code: str
    name: str
    # Donors had no kind at first: see WHEN_GIVEN.
    kind: str | None = field(default=None, metadata=WHEN_GIVEN)

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Registered:
        refuse_existing(uow, registry_id("donor", self.code), f"donor {self.code!r}")
        uow.add(Donor.register(**self.arguments(), **uow.ctx.meta()))
        return Registered(code=self.code)


@dataclass(frozen=True)
class RegisterProgramme(Command):
    command_name = "register_programme"
    result_type = Registered

    code: str
    name: str

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Registered:
        refuse_existing(uow, registry_id("programme", self.code), f"programme {self.code!r}")
        uow.add(Programme.register(**self.arguments(), **uow.ctx.meta()))
        return Registered(code=self.code)


@dataclass(frozen=True)
class RegisterSchool(Command):
    command_name = "register_school"
    result_type = Registered

    code: str
    name: str
    school_type: str
    region: str
    district: str
    hub: str | None = None

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Registered:
        meta = uow.ctx.meta()
        refuse_existing(uow, registry_id("school", self.code), f"school {self.code!r}")
        hub_school = (
            uow.get(School, registry_id("school", self.hub), f"hub school {self.hub!r}")
            if self.hub is not None
            else None
        )
        school = School.register(**self.arguments("hub"), hub=hub_school, **meta)
        uow.add(school, SchoolAccount.open(school=self.code, **meta))
        return Registered(code=self.code)


class RegistryCommands(LedgerCore):
    # -- registry -------------------------------------------------------------------

    def register_donor(
        self, ctx: Context, *, code: str, name: str, kind: str | None = None
    ) -> Recorded:
        return self._run_command(ctx, RegisterDonor(code=code, name=name, kind=kind))

    def register_programme(self, ctx: Context, *, code: str, name: str) -> Recorded:
        return self._run_command(ctx, RegisterProgramme(code=code, name=name))

    def register_school(
        self,
        ctx: Context,
        *,
        code: str,
        name: str,
        school_type: str,
        region: str,
        district: str,
        hub: str | None = None,
    ) -> Recorded:
        command = RegisterSchool(
            code=code,
            name=name,
            school_type=school_type,
            region=region,
            district=district,
            hub=hub,
        )
        return self._run_command(ctx, command)
