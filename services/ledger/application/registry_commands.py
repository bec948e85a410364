"""Commands that register donors, programmes and schools."""

from __future__ import annotations

from typing import Any

from ledger.application.core import LedgerCore, refuse_existing
from ledger.application.unit_of_work import Context, Recorded, UnitOfWork
from ledger.domain.account import SchoolAccount
from ledger.domain.donor import Donor
from ledger.domain.registry import Programme, School, registry_id


class RegistryCommands(LedgerCore):
    # -- registry -------------------------------------------------------------------

    def register_donor(
        self, ctx: Context, *, code: str, name: str, kind: str | None = None
    ) -> Recorded:
        def decide(uow: UnitOfWork) -> dict[str, Any]:
            refuse_existing(uow, registry_id("donor", code), f"donor {code!r}")
            uow.add(Donor.register(code=code, name=name, kind=kind, **ctx.meta()))
            return {"code": code}

        # ``kind`` joins the fingerprint only when given, so a retry of a request made
        # before donors had kinds still matches its stored claim.
        fingerprint: dict[str, Any] = {"code": code, "name": name}
        if kind is not None:
            fingerprint["kind"] = kind
        return self._run_command(ctx, "register_donor", fingerprint, decide)

    def register_programme(self, ctx: Context, *, code: str, name: str) -> Recorded:
        def decide(uow: UnitOfWork) -> dict[str, Any]:
            refuse_existing(uow, registry_id("programme", code), f"programme {code!r}")
            uow.add(Programme.register(code=code, name=name, **ctx.meta()))
            return {"code": code}

        return self._run_command(ctx, "register_programme", {"code": code, "name": name}, decide)

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
        args: dict[str, Any] = {
            "code": code,
            "name": name,
            "school_type": school_type,
            "region": region,
            "district": district,
            "hub": hub,
        }

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            refuse_existing(uow, registry_id("school", code), f"school {code!r}")
            hub_school = (
                uow.get(School, registry_id("school", hub), f"hub school {hub!r}")
                if hub is not None
                else None
            )
            school = School.register(
                code=code,
                name=name,
                school_type=school_type,
                region=region,
                district=district,
                hub=hub_school,
                **ctx.meta(),
            )
            uow.add(school, SchoolAccount.open(school=code, **ctx.meta()))
            return {"code": code}

        return self._run_command(ctx, "register_school", args, decide)
