"""Commands on grants: commit, disburse, reduce or cancel."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from ledger.application.command import Command
from ledger.application.core import LedgerCore
from ledger.application.results import Pending, Posted, Reduced
from ledger.application.unit_of_work import Context, Recorded, UnitOfWork
from ledger.domain.account import SchoolAccount, account_id
from ledger.domain.donor import Donor
from ledger.domain.entries import new_locator
from ledger.domain.grant import Grant
from ledger.domain.registry import Programme, School, registry_id


@dataclass(frozen=True)
class CommitGrant(Command):
    command_name = "commit_grant"
    result_type = Posted

    donor: str
    school: str
    programme: str | None
    amount: int
    currency: str
    value_date: dt.date
    reference: str

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Posted:
        uow.check_open(self.value_date, "a commitment")
        uow.get(Donor, registry_id("donor", self.donor), f"donor {self.donor!r}")
        uow.get(School, registry_id("school", self.school), f"school {self.school!r}")
        if self.programme is not None:
            programme_id = registry_id("programme", self.programme)
            uow.get(Programme, programme_id, f"programme {self.programme!r}")
        entry_id = str(uuid4())
        grant = Grant.commit(entry_id=entry_id, **self.arguments(), **uow.ctx.meta())
        uow.add(grant, new_locator(entry_id, "commitment", grant, **uow.ctx.meta()))
        return Posted(entry_id=entry_id, grant_id=str(grant.id))


@dataclass(frozen=True)
class Disburse(Command):
    """Pay out against a grant: posted at once, or pending above the approval threshold."""

    command_name = "disburse"
    result_type = Posted

    grant_id: UUID
    amount: int
    currency: str
    value_date: dt.date
    payment_reference: str

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Posted | Pending:
        uow.check_open(self.value_date, "a disbursement")
        grant = uow.get(Grant, self.grant_id, f"grant {self.grant_id}", target=True)
        entry_id = str(uuid4())
        payment = self.arguments("grant_id")
        meta = uow.ctx.meta()
        if app.approvals is not None and app.approvals.needs_approval(self.amount, self.currency):
            # Above the threshold: reserve now, post when a second person approves.
            expires_at = app.approvals.deadline(dt.datetime.now(dt.UTC))
            grant.request_disbursement(entry_id=entry_id, **payment, expires_at=expires_at, **meta)
            # Registered now so approve / reject find the grant by entry id alone.
            uow.add(grant, new_locator(entry_id, "disbursement", grant, **meta))
            return Pending(grant_id=str(grant.id), entry_id=entry_id, expires_at=expires_at)
        account = uow.get(SchoolAccount, account_id(grant.school), "school account", lock=True)
        grant.disburse(entry_id=entry_id, **payment, **meta)
        account.receive(entry_id=entry_id, amount=self.amount, currency=self.currency, **meta)
        uow.add(grant, account, new_locator(entry_id, "disbursement", grant, **meta))
        return Posted(entry_id=entry_id, grant_id=str(self.grant_id))

    def read_result(self, stored: dict[str, Any]) -> Posted | Pending:
        # The stored response is the one place the status string is read back.
        if stored.get("status") == "pending":
            return Pending.from_response(stored)
        return Posted.from_response(stored)


@dataclass(frozen=True)
class ReduceGrant(Command):
    """Reduce a grant's undisbursed commitment; ``amount=None`` cancels all of it."""

    command_name = "reduce_grant"
    result_type = Reduced

    grant_id: UUID
    amount: int | None
    value_date: dt.date
    reason: str

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Reduced:
        uow.check_open(self.value_date, "a reduction")
        grant = uow.get(Grant, self.grant_id, f"grant {self.grant_id}", target=True)
        entry_id = str(uuid4())
        reduced = grant.reduce(
            entry_id=entry_id,
            amount=self.amount,
            value_date=self.value_date,
            reason=self.reason,
            **uow.ctx.meta(),
        )
        uow.add(grant, new_locator(entry_id, "reduction", grant, **uow.ctx.meta()))
        return Reduced(grant_id=str(self.grant_id), entry_id=entry_id, amount=reduced)


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
        command = CommitGrant(
            donor=donor,
            school=school,
            programme=programme,
            amount=amount,
            currency=currency,
            value_date=value_date,
            reference=reference,
        )
        return self._run_command(ctx, command)

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
        command = Disburse(
            grant_id=grant_id,
            amount=amount,
            currency=currency,
            value_date=value_date,
            payment_reference=payment_reference,
        )
        return self._run_command(ctx, command)

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
        command = ReduceGrant(
            grant_id=grant_id, amount=amount, value_date=value_date, reason=reason
        )
        return self._run_command(ctx, command)
