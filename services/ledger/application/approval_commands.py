"""Deciding pending disbursements: approve (post the legs), reject, or let them expire."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from uuid import UUID

from ledger.application.command import UNSIGNED, Command
from ledger.application.core import LedgerCore
from ledger.application.results import Decided
from ledger.application.unit_of_work import Context, Recorded, UnitOfWork
from ledger.domain.account import SchoolAccount, account_id
from ledger.domain.entries import EntryLocator
from ledger.domain.errors import NotPending
from ledger.domain.grant import Grant
from ledger.domain.idempotency import SYSTEM_ACTOR_PREFIX, is_system_actor

# Who records an expiry: the sweeper, not a person. A reserved subject (no token carries
# it), so no request can take the claim an expiry is keyed by.
EXPIRY_ACTOR = SYSTEM_ACTOR_PREFIX + "expiry"
assert is_system_actor(EXPIRY_ACTOR)


def expiry_context(entry_id: UUID | str) -> Context:
    """One key per pending item: two sweepers racing record one expiry between them.

    The key's ``system-`` form is new: a claim taken under the old ``expire-<id>`` form
    (before system subjects were reserved) can no longer block the sweeper.
    """
    return Context(actor=EXPIRY_ACTOR, idempotency_key=f"system-expire-{entry_id}")


def _pending_grant(uow: UnitOfWork, entry_id: UUID) -> Grant:
    locator = uow.get(EntryLocator, entry_id, f"entry {entry_id}")
    if locator.owner_type != "Grant":
        raise NotPending(f"entry {entry_id} is not a disbursement")
    return uow.get(Grant, locator.owner_id, "grant", target=True)


@dataclass(frozen=True)
class ApproveDisbursement(Command):
    """A second person posts a pending disbursement, with the account update, atomically."""

    command_name = "approve_disbursement"
    result_type = Decided

    entry_id: UUID
    reason: str

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Decided:
        meta = uow.ctx.meta()
        grant = _pending_grant(uow, self.entry_id)
        pending = grant.pending_item(str(self.entry_id))
        uow.check_open(pending.value_date, "the approved disbursement")
        grant.approve_disbursement(
            entry_id=str(self.entry_id), reason=self.reason, now=dt.datetime.now(dt.UTC), **meta
        )
        account = uow.get(SchoolAccount, account_id(grant.school), "school account", lock=True)
        account.receive(
            entry_id=str(self.entry_id), amount=pending.amount, currency=pending.currency, **meta
        )
        uow.add(grant, account)
        return Decided(grant_id=str(grant.id), entry_id=str(self.entry_id), status="approved")


@dataclass(frozen=True)
class RejectDisbursement(Command):
    command_name = "reject_disbursement"
    result_type = Decided

    entry_id: UUID
    reason: str

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Decided:
        grant = _pending_grant(uow, self.entry_id)
        grant.reject_disbursement(entry_id=str(self.entry_id), reason=self.reason, **uow.ctx.meta())
        uow.add(grant)
        return Decided(grant_id=str(grant.id), entry_id=str(self.entry_id), status="rejected")


@dataclass(frozen=True)
class ExpireDisbursement(Command):
    """Release a reservation past its deadline (run by the sweeper)."""

    command_name = "expire_disbursement"
    result_type = Decided

    entry_id: UUID
    # The sweeper's clock; not part of the request, so a retry later still replays.
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC), metadata=UNSIGNED)

    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Decided:
        grant = _pending_grant(uow, self.entry_id)
        grant.expire_disbursement(entry_id=str(self.entry_id), now=self.now, **uow.ctx.meta())
        uow.add(grant)
        return Decided(grant_id=str(grant.id), entry_id=str(self.entry_id), status="expired")


class ApprovalCommands(LedgerCore):
    def approve_disbursement(self, ctx: Context, *, entry_id: UUID, reason: str) -> Recorded:
        """A second person posts a pending disbursement, with the account update, atomically."""
        return self._run_command(ctx, ApproveDisbursement(entry_id=entry_id, reason=reason))

    def reject_disbursement(self, ctx: Context, *, entry_id: UUID, reason: str) -> Recorded:
        return self._run_command(ctx, RejectDisbursement(entry_id=entry_id, reason=reason))

    def expire_disbursement(self, entry_id: UUID, *, now: dt.datetime | None = None) -> Recorded:
        """Release a reservation past its deadline (run by the sweeper)."""
        command = ExpireDisbursement(entry_id=entry_id, now=now or dt.datetime.now(dt.UTC))
        return self._run_command(expiry_context(entry_id), command)
