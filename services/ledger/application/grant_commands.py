"""Commands on grants: commit, disburse, reduce or cancel."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid4

from ledger.application.core import LedgerCore, args_without
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
            uow.check_open(value_date, "a commitment")
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
            uow.check_open(value_date, "a disbursement")
            grant = uow.get(Grant, grant_id, f"grant {grant_id}", target=True)
            entry_id = str(uuid4())
            if self.approvals is not None and self.approvals.needs_approval(amount, currency):
                return self._request_disbursement(uow, grant, entry_id, args)
            account = uow.get(SchoolAccount, account_id(grant.school), "school account", lock=True)
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

    def _request_disbursement(
        self, uow: UnitOfWork, grant: Grant, entry_id: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        """Above the threshold: reserve now, post when a second person approves."""
        assert self.approvals is not None
        expires_at = self.approvals.deadline(dt.datetime.now(dt.UTC))
        grant.request_disbursement(
            entry_id=entry_id,
            **args_without(args, "grant_id"),
            expires_at=expires_at,
            **uow.ctx.meta(),
        )
        # Registered now so approve / reject find the grant by entry id alone.
        uow.add(grant, new_locator(entry_id, "disbursement", grant, **uow.ctx.meta()))
        return {
            "grant_id": str(grant.id),
            "entry_id": entry_id,
            "status": "pending",
            "expires_at": expires_at.isoformat(),
        }

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
            uow.check_open(value_date, "a reduction")
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
