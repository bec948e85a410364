"""Deciding pending disbursements: approve (post the legs), reject, or let them expire."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from ledger.application.core import LedgerCore
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


class ApprovalCommands(LedgerCore):
    def _pending_grant(self, uow: UnitOfWork, entry_id: UUID) -> Grant:
        locator = uow.get(EntryLocator, entry_id, f"entry {entry_id}")
        if locator.owner_type != "Grant":
            raise NotPending(f"entry {entry_id} is not a disbursement")
        return uow.get(Grant, locator.owner_id, "grant", target=True)

    def approve_disbursement(self, ctx: Context, *, entry_id: UUID, reason: str) -> Recorded:
        """A second person posts a pending disbursement, with the account update, atomically."""
        args: dict[str, Any] = {"entry_id": entry_id, "reason": reason}

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            grant = self._pending_grant(uow, entry_id)
            pending = grant.pending_item(str(entry_id))
            uow.check_open(pending.value_date, "the approved disbursement")
            grant.approve_disbursement(
                entry_id=str(entry_id), reason=reason, now=dt.datetime.now(dt.UTC), **ctx.meta()
            )
            account = uow.get(SchoolAccount, account_id(grant.school), "school account", lock=True)
            account.receive(
                entry_id=str(entry_id),
                amount=pending.amount,
                currency=pending.currency,
                **ctx.meta(),
            )
            uow.add(grant, account)
            return {"grant_id": str(grant.id), "entry_id": str(entry_id), "status": "approved"}

        return self._run_command(ctx, "approve_disbursement", args, decide)

    def reject_disbursement(self, ctx: Context, *, entry_id: UUID, reason: str) -> Recorded:
        args: dict[str, Any] = {"entry_id": entry_id, "reason": reason}

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            grant = self._pending_grant(uow, entry_id)
            grant.reject_disbursement(entry_id=str(entry_id), reason=reason, **ctx.meta())
            uow.add(grant)
            return {"grant_id": str(grant.id), "entry_id": str(entry_id), "status": "rejected"}

        return self._run_command(ctx, "reject_disbursement", args, decide)

    def expire_disbursement(self, entry_id: UUID, *, now: dt.datetime | None = None) -> Recorded:
        """Release a reservation past its deadline (run by the sweeper)."""
        moment = now or dt.datetime.now(dt.UTC)

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            grant = self._pending_grant(uow, entry_id)
            grant.expire_disbursement(entry_id=str(entry_id), now=moment, **uow.ctx.meta())
            uow.add(grant)
            return {"grant_id": str(grant.id), "entry_id": str(entry_id), "status": "expired"}

        ctx = expiry_context(entry_id)
        return self._run_command(ctx, "expire_disbursement", {"entry_id": entry_id}, decide)
