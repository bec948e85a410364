"""Commands outside grants: spending, operating costs, in-kind gifts, reversals."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid4

from ledger.application.core import LedgerCore, args_without
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
    ) -> Recorded:
        args: dict[str, Any] = {
            "school": school,
            "amount": amount,
            "currency": currency,
            "category": category,
            "value_date": value_date,
            "reference": reference,
            "description": description,
        }

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            uow.check_open(value_date, "an expenditure")
            account = uow.get(SchoolAccount, account_id(school), f"school {school!r}", target=True)
            entry_id = str(uuid4())
            account.spend(
                entry_id=entry_id,
                amount=amount,
                currency=currency,
                category=category,
                value_date=value_date,
                reference=reference,
                description=description,
                **ctx.meta(),
            )
            uow.add(account, new_locator(entry_id, "expenditure", account, **ctx.meta()))
            return {"entry_id": entry_id}

        return self._run_command(ctx, "record_expenditure", args, decide)

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
        args: dict[str, Any] = {
            "donor": donor,
            "amount": amount,
            "currency": currency,
            "category": category,
            "programme": programme,
            "value_date": value_date,
            "reference": reference,
            "description": description,
        }

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            uow.check_open(value_date, "an operating cost")
            donor_agg = uow.get(Donor, registry_id("donor", donor), f"donor {donor!r}", target=True)
            if programme is not None:
                uow.get(Programme, registry_id("programme", programme), f"programme {programme!r}")
            entry_id = str(uuid4())
            donor_agg.cover_operating_cost(
                entry_id=entry_id,
                amount=amount,
                currency=currency,
                category=category,
                programme=programme,
                value_date=value_date,
                reference=reference,
                description=description,
                **ctx.meta(),
            )
            uow.add(donor_agg, new_locator(entry_id, "operating-cost", donor_agg, **ctx.meta()))
            return {"entry_id": entry_id}

        return self._run_command(ctx, "cover_operating_cost", args, decide)

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
    ) -> Recorded:
        args: dict[str, Any] = {
            "donor": donor,
            "kind": kind,
            "fair_value": fair_value,
            "currency": currency,
            "valuation_basis": valuation_basis,
            "quantities": quantities,
            "school": school,
            "programme": programme,
            "value_date": value_date,
        }

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            uow.check_open(value_date, "an in-kind contribution")
            donor_agg = uow.get(Donor, registry_id("donor", donor), f"donor {donor!r}", target=True)
            if school is not None:
                uow.get(School, registry_id("school", school), f"school {school!r}")
            if programme is not None:
                uow.get(Programme, registry_id("programme", programme), f"programme {programme!r}")
            entry_id = str(uuid4())
            donor_agg.contribute_in_kind(
                entry_id=entry_id, **args_without(args, "donor"), **ctx.meta()
            )
            uow.add(donor_agg, new_locator(entry_id, "in-kind", donor_agg, **ctx.meta()))
            return {"entry_id": entry_id}

        return self._run_command(ctx, "contribute_in_kind", args, decide)

    # -- reversal ---------------------------------------------------------------------

    def reverse_entry(
        self, ctx: Context, *, entry_id: UUID, reason: str, value_date: dt.date | None = None
    ) -> Recorded:
        """Reverse an entry; ``value_date=None`` dates the reversal today (UTC)."""
        args: dict[str, Any] = {"entry_id": entry_id, "reason": reason, "value_date": value_date}

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            dated = value_date or dt.datetime.now(dt.UTC).date()
            uow.check_open(dated, "a reversal")
            locator = uow.get(EntryLocator, entry_id, f"entry {entry_id}")
            owner = uow.get(
                OWNER_TYPES[locator.owner_type], locator.owner_id, "entry owner", target=True
            )
            reversal_id = str(uuid4())
            reversed_entry = owner.reverse(
                entry_id=str(entry_id),
                reversal_entry_id=reversal_id,
                value_date=dated,
                reason=reason,
                **ctx.meta(),
            )
            uow.add(owner)
            if isinstance(owner, Grant) and reversed_entry.kind == "disbursement":
                account = uow.get(
                    SchoolAccount, account_id(owner.school), "school account", lock=True
                )
                account.withdraw_for_reversal(
                    entry_id=reversal_id,
                    amount=reversed_entry.amount,
                    currency=reversed_entry.currency,
                    **ctx.meta(),
                )
                uow.add(account)
            uow.add(
                new_locator(reversal_id, "reversal", owner, reverses=str(entry_id), **ctx.meta())
            )
            return {"entry_id": reversal_id, "reverses": str(entry_id)}

        return self._run_command(ctx, "reverse_entry", args, decide)
