"""The application core: storage, the command pipeline, and reads of write-side state."""

from __future__ import annotations

import contextlib
import logging
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    project_aggregate,
)
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from ledger.application.approval_policy import ApprovalPolicy
from ledger.application.command import Command
from ledger.application.committer import (
    DEFAULT_WAIT_SECONDS,
    CommitNotStarted,
    CommitOutcomeUnknown,
    GroupCommitter,
)
from ledger.application.event_log import StoredEventLog
from ledger.application.periods import PeriodGuard
from ledger.application.transcodings import (
    DateAsISO,
    EntryStateAsDict,
    LegAsDict,
    ReservationAsDict,
)
from ledger.application.unit_of_work import (
    A,
    Context,
    KeyedLocks,
    Recorded,
    Retry,
    UnitOfWork,
    with_retries,
)
from ledger.domain.account import SchoolAccount, account_id
from ledger.domain.donor import Donor
from ledger.domain.errors import AlreadyExists, DomainError, NotFound
from ledger.domain.grant import Grant
from ledger.domain.idempotency import IdempotencyClaim, check_key, claim_id
from ledger.domain.registry import Programme, School, registry_id
from ledger.infrastructure.positions import position_of

log = logging.getLogger("ledger.application")

# Entry-owning aggregates grow with every entry (a donor's in-kind gifts, a busy
# school's spending); a snapshot every N events keeps loading them cheap.
SNAPSHOT_INTERVAL = 50


class LedgerCore(Application[UUID]):
    name = "Ledger"
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
        Donor: SNAPSHOT_INTERVAL,
        Grant: SNAPSHOT_INTERVAL,
        SchoolAccount: SNAPSHOT_INTERVAL,
    }

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        commit_batch_max: int = 512,
        approvals: ApprovalPolicy | None = None,
        period_refresh_seconds: float = 1.0,
        commit_wait_seconds: float = DEFAULT_WAIT_SECONDS,
        value_date_horizon_days: int = 7,
        zone: str = "Asia/Almaty",
    ) -> None:
        super().__init__(env)
        self._locks = KeyedLocks()
        self.committer = GroupCommitter(
            self.events, max_batch=commit_batch_max, wait_seconds=commit_wait_seconds
        )
        # None: every disbursement posts at once (tests, historical imports).
        self.approvals = approvals
        self.periods = PeriodGuard(
            self.events, period_refresh_seconds, horizon_days=value_date_horizon_days, zone=zone
        )
        # What the read side follows (its EventLog port).
        self.event_log = StoredEventLog(self)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(LegAsDict())
        transcoder.register(EntryStateAsDict())
        transcoder.register(ReservationAsDict())

    def close(self) -> None:
        self.committer.close()
        super().close()

    # -- the command pipeline -------------------------------------------------------

    def _run_command(self, ctx: Context, command: Command) -> Recorded:
        check_key(ctx.idempotency_key)
        digest = command.fingerprint
        cid = claim_id(ctx.actor, ctx.idempotency_key)

        def attempt(n: int) -> Recorded:
            # A new key (the common case) costs no look-up: its claim is inserted with
            # the entry and collides if the key was used. Retries look first.
            if n > 0 and (replayed := self._replay(cid, command)) is not None:
                return replayed
            with UnitOfWork(
                self.repository,
                ctx,
                self._locks,
                fresh=n > 0,
                periods=self.periods,
                close_periods=command.close_periods,
            ) as uow:
                try:
                    result = command.decide(self, uow)
                except DomainError:
                    if (replayed := self._replay(cid, command)) is not None:
                        return replayed
                    if n == 0:
                        # Refused on cached state: confirm on fresh state before saying no.
                        self._evict(uow.loaded)
                        raise Retry from None
                    raise
                response = result.response()
                claim = IdempotencyClaim.claim(
                    actor=ctx.actor,
                    key=ctx.idempotency_key,
                    command=command.command_name,
                    fingerprint=digest,
                    response=response,
                )
                events = [e for agg in (*uow.changed, claim) for e in agg.collect_events()]
                try:
                    positions = self.committer.commit(events)
                except (IntegrityError, CommitNotStarted, CommitOutcomeUnknown):
                    self._evict(uow.loaded)
                    raise
                self._cache(uow.changed)
            self._snapshot_if_due(events, uow.changed)
            return Recorded(response=response, position=max(positions), result=result)

        return with_retries(attempt)

    # The aggregate cache is not fast-forwarded on every load (that would cost a query
    # per aggregate per command); committed state is put back here, and anything a
    # failed attempt read is evicted so the retry reads the store.

    def _cache(self, aggregates: list[Aggregate]) -> None:
        if self.repository.cache is not None:
            for aggregate in aggregates:
                self.repository.cache.put(aggregate.id, aggregate)

    def _evict(self, ids: set[UUID]) -> None:
        if self.repository.cache is not None:
            for aggregate_id in ids:
                with contextlib.suppress(KeyError):
                    self.repository.cache.get(aggregate_id, evict=True)

    def _snapshot_if_due(self, events: list[Any], changed: list[Aggregate]) -> None:
        # The library snapshots inside save(); group commit bypasses save(), so do it here.
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        processing.events = events
        processing.aggregates = {a.id: a for a in changed}
        try:
            self._take_snapshots(processing)
        except Exception:
            # A snapshot is an optimisation; the entry is already recorded.
            log.exception("snapshot failed")

    def _replay(self, cid: UUID, command: Command) -> Recorded | None:
        try:
            claim: IdempotencyClaim = self.repository.get(cid)
        except AggregateNotFoundError:
            return None
        assert isinstance(claim, IdempotencyClaim)
        response = claim.replay(command.command_name, command.fingerprint)
        position = position_of(self.recorder, cid, 1)
        assert position is not None
        result = command.read_result(response)
        return Recorded(response=response, position=position, result=result, replayed=True)

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
        return self.event_log.head()


def refuse_existing(uow: UnitOfWork, aggregate_id: UUID, what: str) -> None:
    if uow.exists(aggregate_id):
        raise AlreadyExists(f"{what} is already registered")


def _read(app: LedgerCore, cls: type[A], aggregate_id: UUID) -> A:
    """Current state for a reader: the cached copy, fast-forwarded over newer events.

    Another API process may have written since this one cached the aggregate; a
    read (and its ETag) must show what is stored, so it always asks the store.
    """
    try:
        aggregate: Aggregate = app.repository.get(aggregate_id)
    except AggregateNotFoundError:
        raise NotFound(f"{cls.__name__} not found") from None
    newer = list(app.events.get(aggregate_id, gt=aggregate.version))
    if newer:
        fresh = project_aggregate(aggregate, newer)
        assert fresh is not None
        aggregate = fresh
        app._cache([aggregate])
    if not isinstance(aggregate, cls):
        raise NotFound(f"{cls.__name__} not found")
    return aggregate
