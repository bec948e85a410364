"""The ledger application: one method per command, on the eventsourcing library."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder

from ledger.application.committer import GroupCommitter
from ledger.application.transcodings import DateAsISO, LegAsDict
from ledger.application.unit_of_work import (
    A,
    Context,
    Recorded,
    UnitOfWork,
    fingerprint,
    with_retries,
)
from ledger.domain.account import SchoolAccount, account_id
from ledger.domain.donor import Donor
from ledger.domain.entries import EntryLocator, EntryOwner, new_locator
from ledger.domain.grant import Grant
from ledger.domain.idempotency import IdempotencyClaim, check_key, claim_id
from ledger.domain.registry import Programme, School, registry_id
from ledger.infrastructure.positions import position_of

Decision = Callable[[UnitOfWork], dict[str, Any]]

OWNER_TYPES: dict[str, type[EntryOwner]] = {
    "Grant": Grant,
    "Donor": Donor,
    "SchoolAccount": SchoolAccount,
}


class LedgerApplication(Application[UUID]):
    name = "Ledger"

    def __init__(self, env: dict[str, str] | None = None, *, commit_batch_max: int = 512) -> None:
        super().__init__(env)
        self.committer = GroupCommitter(self.events, max_batch=commit_batch_max)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(LegAsDict())

    def close(self) -> None:
        self.committer.close()
        super().close()

    # -- the command pipeline -------------------------------------------------------

    def _run_command(
        self, ctx: Context, command: str, args: dict[str, Any], decide: Decision
    ) -> Recorded:
        check_key(ctx.idempotency_key)
        digest = fingerprint(command, args)
        cid = claim_id(ctx.actor, ctx.idempotency_key)

        def attempt() -> Recorded:
            replayed = self._replay(cid, command, digest)
            if replayed is not None:
                return replayed
            uow = UnitOfWork(self.repository, ctx)
            response = decide(uow)
            claim = IdempotencyClaim.claim(
                actor=ctx.actor,
                key=ctx.idempotency_key,
                command=command,
                fingerprint=digest,
                response=response,
            )
            events = [e for agg in (*uow.changed, claim) for e in agg.collect_events()]
            positions = self.committer.commit(events)
            return Recorded(response=response, position=max(positions))

        return with_retries(attempt)

    def _replay(self, cid: UUID, command: str, digest: str) -> Recorded | None:
        try:
            claim: IdempotencyClaim = self.repository.get(cid)
        except AggregateNotFoundError:
            return None
        assert isinstance(claim, IdempotencyClaim)
        response = claim.replay(command, digest)
        position = position_of(self.recorder, cid, 1)
        assert position is not None
        return Recorded(response=response, position=position, replayed=True)

    # -- registry -------------------------------------------------------------------

    def register_donor(self, ctx: Context, *, code: str, name: str) -> Recorded:
        def decide(uow: UnitOfWork) -> dict[str, Any]:
            _refuse_existing(uow, registry_id("donor", code), f"donor {code!r}")
            uow.add(Donor.register(code=code, name=name, **ctx.meta()))
            return {"code": code}

        return self._run_command(ctx, "register_donor", {"code": code, "name": name}, decide)

    def register_programme(self, ctx: Context, *, code: str, name: str) -> Recorded:
        def decide(uow: UnitOfWork) -> dict[str, Any]:
            _refuse_existing(uow, registry_id("programme", code), f"programme {code!r}")
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
            _refuse_existing(uow, registry_id("school", code), f"school {code!r}")
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
            account = uow.get(SchoolAccount, account_id(grant.school), "school account")
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
            return {"school": school, "entry_id": entry_id}

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
            return {"donor": donor, "entry_id": entry_id}

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
            return {"donor": donor, "entry_id": entry_id}

        return self._run_command(ctx, "contribute_in_kind", args, decide)

    # -- reversal ---------------------------------------------------------------------

    def reverse_entry(
        self, ctx: Context, *, entry_id: UUID, reason: str, value_date: dt.date | None = None
    ) -> Recorded:
        """Reverse an entry; ``value_date=None`` dates the reversal today (UTC)."""
        args: dict[str, Any] = {"entry_id": entry_id, "reason": reason, "value_date": value_date}

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            locator = uow.get(EntryLocator, entry_id, f"entry {entry_id}")
            owner = uow.get(
                OWNER_TYPES[locator.owner_type], locator.owner_id, "entry owner", target=True
            )
            reversal_id = str(uuid4())
            reversed_entry = owner.reverse(
                entry_id=str(entry_id),
                reversal_entry_id=reversal_id,
                value_date=value_date or dt.datetime.now(dt.UTC).date(),
                reason=reason,
                **ctx.meta(),
            )
            uow.add(owner)
            if isinstance(owner, Grant) and reversed_entry.kind == "disbursement":
                account = uow.get(SchoolAccount, account_id(owner.school), "school account")
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

    # -- reads (write-side state, for ETags and checks) -----------------------------

    def get_donor(self, code: str) -> Donor:
        return _read(self, Donor, registry_id("donor", code))

    def get_programme(self, code: str) -> Programme:
        return _read(self, Programme, registry_id("programme", code))

    def get_school(self, code: str) -> School:
        return _read(self, School, registry_id("school", code))

    def get_school_account(self, code: str) -> SchoolAccount:
        return _read(self, SchoolAccount, account_id(code))

    def get_grant(self, grant_id: UUID) -> Grant:
        return _read(self, Grant, grant_id)

    def log_head(self) -> int:
        return self.recorder.max_notification_id() or 0


def args_without(args: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k not in names}


def _refuse_existing(uow: UnitOfWork, aggregate_id: UUID, what: str) -> None:
    from ledger.domain.errors import AlreadyExists

    if uow.exists(aggregate_id):
        raise AlreadyExists(f"{what} is already registered")


def _read(app: LedgerApplication, cls: type[A], aggregate_id: UUID) -> A:
    from ledger.domain.errors import NotFound

    try:
        aggregate: Aggregate = app.repository.get(aggregate_id)
    except AggregateNotFoundError:
        raise NotFound(f"{cls.__name__} not found") from None
    if not isinstance(aggregate, cls):
        raise NotFound(f"{cls.__name__} not found")
    return aggregate
