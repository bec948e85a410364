"""The sequencer: one thread decides every recording command of this process in order.

Callers hand over a command and wait for its future. The thread takes whatever has
queued, decides each command on the process's own aggregates (no copies: nothing
else touches them), so commands on one aggregate in a round are decided one after
another on the advancing state, and records the round's events in one transaction.
Answers, refusals included, are given only after that commit: a refusal decided on
state the failed batch changed is as unconfirmed as a success.

If the commit fails (another process took a version, the calendar changed, the store
failed) nothing of the batch is answered: the aggregates are dropped, read again from
the store, and the same commands decided again. Across processes the store's version
uniqueness, and the calendar check in each commit, still decide.

An atomic group (a batch recorded all-or-nothing) is a round of its own: its commands
are decided in order on the advancing state, and if one is refused nothing of the
group is recorded.
"""

from __future__ import annotations

import logging
import queue
import random
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ledger.application.aggregates import AggregateState, Batch
from ledger.application.command import Command
from ledger.application.committer import CommitNotStarted, Events, GroupCommitter
from ledger.application.unit_of_work import (
    MAX_ATTEMPTS,
    ConcurrencyConflict,
    Context,
    Recorded,
    UnitOfWork,
)
from ledger.domain.errors import DomainError
from ledger.domain.idempotency import IdempotencyClaim

if TYPE_CHECKING:
    from ledger.application.core import LedgerCore

log = logging.getLogger("ledger.sequencer")

Replay = Callable[[UUID, Command], Recorded | None]
AfterCommit = Callable[[list[Any], list[Any]], None]

# Attempts at a whole batch before its commands are committed one by one, so one
# command that keeps losing races does not hold back the rest.
BATCH_ATTEMPTS = 4
# A store that fails (not a version race) gets this many attempts.
STORE_ATTEMPTS = 2


class NotRecorded(DomainError):
    """Another command of the same atomic group was refused, so this one was not recorded."""

    code = "not-recorded"
    title = "Not recorded: another item of the atomic batch was refused"

    def __init__(self, refused_index: int) -> None:
        super().__init__(
            f"nothing of the atomic batch was recorded: item {refused_index} was refused"
        )
        self.refused_index = refused_index


@dataclass
class Submission:
    ctx: Context
    command: Command
    cid: UUID
    future: Future[Recorded] = field(default_factory=Future)
    # Look for a stored claim under this key before deciding (a re-decision, or a
    # key this process recorded before: a client retry).
    careful: bool = False


@dataclass
class _Decided:
    sub: Submission
    events: Events = ()
    recorded: Recorded | None = None
    error: BaseException | None = None
    replay: Recorded | None = None


Work = Submission | list[Submission]


class Sequencer:
    def __init__(
        self,
        app: LedgerCore,
        state: AggregateState,
        committer: GroupCommitter,
        replay: Replay,
        after_commit: AfterCommit,
        *,
        max_batch: int = 512,
    ) -> None:
        self._app = app
        self.state = state
        self._committer = committer
        self._replay = replay
        self._after_commit = after_commit
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Work | None] = queue.SimpleQueue()
        self._closed = threading.Event()
        # Claims this process recorded lately: a request under one of those keys is a
        # retry and looks for the stored answer first.
        self._recent: dict[UUID, None] = {}
        self._recent_max = 100_000
        self._thread = threading.Thread(target=self._run, name="sequencer", daemon=True)
        self._thread.start()

    def submit(self, sub: Submission) -> Future[Recorded]:
        self._check_open()
        self._queue.put(sub)
        return sub.future

    def submit_group(self, subs: list[Submission]) -> list[Future[Recorded]]:
        """All or nothing: decided together in a round of their own."""
        self._check_open()
        self._queue.put(list(subs))
        return [s.future for s in subs]

    def _check_open(self) -> None:
        if self._closed.is_set():
            msg = "the sequencer is closed"
            raise RuntimeError(msg)

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._queue.put(None)
            self._thread.join(timeout=30)

    def _run(self) -> None:
        pending: list[Work] = []
        while True:
            first = pending.pop(0) if pending else self._queue.get()
            if first is None:
                return
            if isinstance(first, list):
                self._guarded(first, self._group)
                continue
            subs = [first]
            stop = False
            while len(subs) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                if isinstance(item, list):
                    pending.append(item)  # after this round, in arrival order
                    break
                subs.append(item)
            self._guarded(subs, self._round)
            if stop:
                return

    def _guarded(self, subs: list[Submission], run: Callable[[list[Submission]], None]) -> None:
        # A caller that gave up before its command was taken up has cancelled it:
        # "not started" must stay true, so it is dropped here.
        taken = [s for s in subs if s.future.set_running_or_notify_cancel()]
        if run == self._group and len(taken) < len(subs):
            # Part of the group was given up on: none of it is recorded.
            for sub in taken:
                sub.future.set_exception(CommitNotStarted("the atomic batch was given up on"))
            return
        if not taken:
            return
        try:
            run(taken)
        except BaseException as e:  # never leave a caller waiting
            log.exception("sequencer round failed")
            for sub in taken:
                if not sub.future.done():
                    sub.future.set_exception(e)

    # -- one round: decide in order, commit once, answer ----------------------------

    def _round(self, subs: list[Submission]) -> None:
        for sub in subs:
            if sub.cid in self._recent:
                sub.careful = True
        failures = 0
        while True:
            batch = Batch()
            decided: list[_Decided] = []
            later: list[Submission] = []
            for sub in subs:
                if sub.cid in batch.claims:
                    # The same key twice in a round: the second replays what the first
                    # recorded, so it waits for the next round.
                    later.append(sub)
                    continue
                decided.append(self._decide(sub, batch))
            try:
                self._commit(batch, decided)
            except Exception as e:
                failures += 1
                self.state.drop(batch.touched)
                if not self._again(subs, e, failures):
                    return
                continue
            self.state.trim()
            if not later:
                return
            subs = later
            for sub in subs:
                sub.careful = True
            failures = 0

    def _group(self, subs: list[Submission]) -> None:
        """An atomic group: every command recorded in one commit, or none of them."""
        for sub in subs:
            if sub.cid in self._recent:
                sub.careful = True
        failures = 0
        confirmed = False
        while True:
            batch = Batch()
            decided: list[_Decided] = []
            refused: _Decided | None = None
            for sub in subs:
                d = self._decide(sub, batch)
                if d.error is not None:
                    refused = d
                    break
                decided.append(d)
            if refused is not None:
                self.state.drop(batch.touched)
                if not confirmed:
                    # Decided partly on cached state: confirm on state read afresh.
                    confirmed = True
                    continue
                index = subs.index(refused.sub)
                for sub in subs:
                    error = refused.error if sub is refused.sub else NotRecorded(index)
                    assert error is not None
                    sub.future.set_exception(error)
                return
            try:
                self._commit(batch, decided)
            except Exception as e:
                failures += 1
                self.state.drop(batch.touched)
                if not self._again(subs, e, failures, split=False):
                    return
                continue
            self.state.trim()
            return

    def _again(
        self, subs: list[Submission], error: Exception, failures: int, *, split: bool = True
    ) -> bool:
        """After a failed commit: True to decide the batch again; else it is settled."""
        store_failed = not isinstance(error, IntegrityError)
        log.info("batch of %d not recorded (%s); deciding it again", len(subs), error)
        if (store_failed and failures >= STORE_ATTEMPTS) or failures >= MAX_ATTEMPTS:
            answer = error if store_failed else _conflict()
            for sub in subs:
                sub.future.set_exception(answer)
            return False
        named = None if store_failed else _named_ids(error)
        for sub in subs:
            # A store failure may have committed: every command looks for its stored
            # claim. A version race rolled back: only a command whose claim the store
            # named (its key used elsewhere) does; another one that collides next time
            # is named then. On a cross-process race this saves a claim look-up per
            # command of the round.
            if named is None or sub.cid in named:
                sub.careful = True
        if split and failures >= BATCH_ATTEMPTS and len(subs) > 1:
            for sub in subs:
                self._round([sub])
            return False
        # Jittered backoff spreads racing processes out so one wins each round.
        time.sleep(random.uniform(0, 0.001 * min(failures, 20)))
        return True

    def _decide(self, sub: Submission, batch: Batch) -> _Decided:
        if sub.careful and (answered := self._replayed(sub)) is not None:
            return answered
        view = batch.view(self.state)
        command = sub.command
        for _ in range(3):
            uow = UnitOfWork(view, sub.ctx, self._app.periods)
            try:
                result = command.decide(self._app, uow)
            except DomainError as e:
                self.state.undo(uow, batch)
                if (answered := self._replayed(sub)) is not None:
                    return answered
                # A refusal is final only on stored state: bring what it read up to
                # date, and decide again if anything was newer.
                if self.state.refresh(uow.loaded, batch):
                    continue
                return _Decided(sub, error=e)
            except Exception as e:
                # A defect in one command must not stop the sequencer or leak its change.
                self.state.undo(uow, batch)
                log.exception("command %s failed", command.command_name)
                return _Decided(sub, error=e)
            response = result.response()
            claim = IdempotencyClaim.claim(
                actor=sub.ctx.actor,
                key=sub.ctx.idempotency_key,
                command=command.command_name,
                fingerprint=command.fingerprint,
                response=response,
            )
            events = [e for agg in (*uow.changed, claim) for e in agg.collect_events()]
            batch.record(uow, events, sub.cid)
            self.state.keep(uow.changed)
            recorded = Recorded(response=response, position=0, result=result)
            return _Decided(sub, events=events, recorded=recorded)
        return _Decided(sub, error=_conflict())

    def _replayed(self, sub: Submission) -> _Decided | None:
        """The stored answer under this key, or its refusal (the key reused for another
        request); None if the key is unused."""
        try:
            replayed = self._replay(sub.cid, sub.command)
        except DomainError as e:
            return _Decided(sub, error=e)
        return None if replayed is None else _Decided(sub, replay=replayed)

    def _commit(self, batch: Batch, decided: list[_Decided]) -> None:
        writing = [d for d in decided if d.events]
        positions: list[list[int]] = []
        if writing:
            positions = self._committer.commit(
                [d.events for d in writing], unchanged=batch.unchanged()
            )
            events = [e for d in writing for e in d.events]
            self._after_commit(events, batch.changed_aggregates())
        batch.committed()
        for d, at in zip(writing, positions, strict=True):
            assert d.recorded is not None
            self._remember(d.sub.cid)
            d.sub.future.set_result(
                Recorded(response=d.recorded.response, position=max(at), result=d.recorded.result)
            )
        for d in decided:
            if d.replay is not None:
                d.sub.future.set_result(d.replay)
            elif d.error is not None:
                d.sub.future.set_exception(d.error)

    def _remember(self, cid: UUID) -> None:
        self._recent[cid] = None
        if len(self._recent) > self._recent_max:
            del self._recent[next(iter(self._recent))]


_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)


def _named_ids(error: Exception) -> set[UUID] | None:
    """The aggregate ids a unique violation names (PostgreSQL says which key), or None
    when it names none (SQLite does not): then every command is treated as named."""
    found = {UUID(m) for m in _UUID.findall(str(error))}
    return found or None


def _conflict() -> ConcurrencyConflict:
    return ConcurrencyConflict(
        f"the command lost {MAX_ATTEMPTS} races for the same records; try again"
    )
