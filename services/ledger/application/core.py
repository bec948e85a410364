"""The application core: storage, the command pipeline, and reads of write-side state."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    project_aggregate,
)
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate
from eventsourcing.persistence import JSONTranscoder

from ledger.application.aggregates import AggregateState
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
from ledger.application.sequencer import Sequencer, Submission
from ledger.application.snapshots import SnapshotWriter
from ledger.application.transcodings import (
    DateAsISO,
    EntryStateAsDict,
    LegAsDict,
    ReservationAsDict,
)
from ledger.application.unit_of_work import A, Context, Recorded, UnitOfWork
from ledger.domain.account import SchoolAccount, account_id
from ledger.domain.donor import Donor
from ledger.domain.errors import AlreadyExists, NotFound
from ledger.domain.grant import Grant
from ledger.domain.idempotency import IdempotencyClaim, check_key, claim_id
from ledger.domain.registry import Programme, School, registry_id
from ledger.infrastructure.positions import position_of

log = logging.getLogger("ledger.application")

# Entry-owning aggregates grow with every entry (a donor's in-kind gifts, a busy
# school's spending); a snapshot every N events keeps loading them cheap.
SNAPSHOT_INTERVAL = 50


def snapshot_due(version: int, interval: int) -> bool:
    """Whether an aggregate at ``version`` is snapshotted: every ``interval`` events while
    it is small, then at a spacing that doubles as it grows (an eighth to a quarter of
    its length). A snapshot costs time in proportion to the aggregate's size (a busy
    grant holds every entry), so a fixed spacing would make each command on a hot
    grant slower as it grows; this keeps the cost per event constant, and a cold load
    replays at most a quarter of the aggregate's events after its latest snapshot."""
    step = interval
    while version >= step * 8:
        step *= 2
    return version % step == 0


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
        sequencer_cache_size: int = 5000,
    ) -> None:
        super().__init__(env)
        self.commit_wait_seconds = commit_wait_seconds
        self.committer = GroupCommitter(self.events)
        self.snapshot_writer = SnapshotWriter(self.snapshots or self.events)
        # None: every disbursement posts at once (tests, historical imports).
        self.approvals = approvals
        # Today in the programme's zone and the value-date horizon; the calendar itself
        # is read by the sequencer like any aggregate.
        self.periods = PeriodGuard(
            self.events, period_refresh_seconds, horizon_days=value_date_horizon_days, zone=zone
        )
        self.sequencer = Sequencer(
            self,
            AggregateState(self._load_stored, self._newer_events, sequencer_cache_size),
            self.committer,
            self._replay,
            self._snapshot_if_due,
            max_batch=commit_batch_max,
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
        self.sequencer.close()
        self.snapshot_writer.close()
        super().close()

    # -- the command pipeline -------------------------------------------------------

    def submit(self, ctx: Context, command: Command) -> Future[Recorded]:
        """Hand one command to the sequencer; its future resolves after the commit.

        The future raises what the command was refused with; a caller that stops
        waiting uses ``settle`` to say whether the outcome is known.
        """
        check_key(ctx.idempotency_key)
        sub = Submission(ctx=ctx, command=command, cid=claim_id(ctx.actor, ctx.idempotency_key))
        return self.sequencer.submit(sub)

    def submit_atomic(self, items: Sequence[tuple[Context, Command]]) -> list[Future[Recorded]]:
        """Decide ``items`` together in one round and record all of them or none.

        If one is refused, none is recorded: its future raises the refusal and every
        other future raises ``NotRecorded`` naming it.
        """
        subs = []
        for ctx, command in items:
            check_key(ctx.idempotency_key)
            subs.append(
                Submission(ctx=ctx, command=command, cid=claim_id(ctx.actor, ctx.idempotency_key))
            )
        return self.sequencer.submit_group(subs)

    def settle(
        self, future: Future[Recorded], timeout: float | None = None, *, waited: float | None = None
    ) -> Recorded:
        """Wait for a submitted command; past the wait, say whether it may still land.

        ``waited``: how long the caller already waited (named in the answer).
        """
        wait = self.commit_wait_seconds if timeout is None else timeout
        said = wait if waited is None else waited
        try:
            if not future.cancelled():
                return future.result(timeout=wait)
        except FutureTimeout:
            pass
        # cancel() only succeeds while the sequencer has not taken the command up.
        if future.cancelled() or future.cancel():
            msg = f"the ledger did not start the commit within {said:g}s"
            raise CommitNotStarted(msg) from None
        msg = f"the commit did not finish within {said:g}s and may still be recorded"
        raise CommitOutcomeUnknown(msg) from None

    def _run_command(self, ctx: Context, command: Command) -> Recorded:
        """Decide and record one command in the sequencer; its answer after the commit."""
        return self.settle(self.submit(ctx, command))

    def _load_stored(self, aggregate_id: UUID) -> Aggregate:
        # The library cache holds readers' copies; the sequencer reads the store.
        self._evict({aggregate_id})
        aggregate: Aggregate = self.repository.get(aggregate_id)
        return aggregate

    def _newer_events(self, aggregate_id: UUID, version: int) -> list[Any]:
        return list(self.events.get(aggregate_id, gt=version))

    # The library's cache serves readers only (each gets a copy, fast-forwarded over
    # newer events); the sequencer keeps its own aggregates.

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
        """Snapshot an aggregate whose events in this commit crossed its interval.

        Taken from the sequencer's own copy, which is exactly the committed state
        (the sequencer calls this before deciding anything else): no store read; the
        write happens off the sequencer thread.
        """
        if self.snapshots is None:
            return
        intervals = {a.id: i for a in changed if (i := self.snapshotting_intervals.get(type(a)))}
        crossed = {
            e.originator_id
            for e in events
            if e.originator_id in intervals
            and snapshot_due(e.originator_version, intervals[e.originator_id])
        }
        for aggregate in changed:
            if aggregate.id not in crossed:
                continue
            try:
                snapshot_class = getattr(type(aggregate), "Snapshot", type(self).snapshot_class)
                assert snapshot_class is not None
                self.snapshot_writer.put(snapshot_class.take(aggregate))
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
