"""Commands on grants: commit, disburse, reduce or cancel."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid4

from ledger.application.core import LedgerCore
from ledger.application.unit_of_work import Context, Recorded, UnitOfWork
from ledger.domain.account import SchoolAccount, account_id
from ledger.domain.donor import Donor
from ledger.domain.entries import new_locator
from ledger.domain.grant import Grant
from ledger.domain.registry import Programme, School, registry_id


class GrantCommands(LedgerCore):
    # -- grants ---------------------------------------------------------------------

    def commit_grant(
        self,
        ctx: Context,
        *,
        donor: str,
        school: str,
        programme: str | None,
        amount: int,
        currency: str,
        value_date: dt.date,
        reference: str,
    ) -> Recorded:
        args: dict[str, Any] = {
            "donor": donor,
            "school": school,
            "programme": programme,
            "amount": amount,
            "currency": currency,
            "value_date": value_date,
            "reference": reference,
        }

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            uow.get(Donor, registry_id("donor", donor), f"donor {donor!r}")
            uow.get(School, registry_id("school", school), f"school {school!r}")
            if programme is not None:
                uow.get(Programme, registry_id("programme", programme), f"programme {programme!r}")
            entry_id = str(uuid4())
            grant = Grant.commit(entry_id=entry_id, **args, **ctx.meta())
            uow.add(grant, new_locator(entry_id, "commitment", grant, **ctx.meta()))
            return {"grant_id": str(grant.id), "entry_id": entry_id}

        return self._run_command(ctx, "commit_grant", args, decide)

    def disburse(
        self,
        ctx: Context,
        *,
        grant_id: UUID,
        amount: int,
        currency: str,
        value_date: dt.date,
        payment_reference: str,
    ) -> Recorded:
        args: dict[str, Any] = {
            "grant_id": grant_id,
            "amount": amount,
            "currency": currency,
            "value_date": value_date,
            "payment_reference": payment_reference,
        }

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            grant = uow.get(Grant, grant_id, f"grant {grant_id}", target=True)
            account = uow.get(SchoolAccount, account_id(grant.school), "school account", lock=True)
            entry_id = str(uuid4())
            grant.disburse(
                entry_id=entry_id,
                amount=amount,
                currency=currency,
                value_date=value_date,
                payment_reference=payment_reference,
                **ctx.meta(),
            )
            account.receive(entry_id=entry_id, amount=amount, currency=currency, **ctx.meta())
            uow.add(grant, account, new_locator(entry_id, "disbursement", grant, **ctx.meta()))
            return {"grant_id": str(grant_id), "entry_id": entry_id}

        return self._run_command(ctx, "disburse", args, decide)

    def reduce_grant(
        self,
        ctx: Context,
        *,
        grant_id: UUID,
        amount: int | None,
        value_date: dt.date,
        reason: str,
    ) -> Recorded:
        """Reduce a grant's undisbursed commitment; ``amount=None`` cancels all of it."""
        args: dict[str, Any] = {
            "grant_id": grant_id,
            "amount": amount,
            "value_date": value_date,
            "reason": reason,
        }

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            grant = uow.get(Grant, grant_id, f"grant {grant_id}", target=True)
            entry_id = str(uuid4())
            reduced = grant.reduce(
                entry_id=entry_id,
                amount=amount,
                value_date=value_date,
                reason=reason,
                **ctx.meta(),
            )
            uow.add(grant, new_locator(entry_id, "reduction", grant, **ctx.meta()))
            return {"grant_id": str(grant_id), "entry_id": entry_id, "amount": reduced}

        return self._run_command(ctx, "reduce_grant", args, decide)
