"""Running one command: idempotency check, decision, group commit, retry on conflict."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from ledger.application.results import Result
from ledger.domain.errors import DomainError, NotFound, VersionMismatch

if TYPE_CHECKING:
    from ledger.application.periods import PeriodGuard

A = TypeVar("A", bound=Aggregate)

MAX_ATTEMPTS = 30


class ConcurrencyConflict(DomainError):
    code = "concurrency-conflict"
    title = "Concurrent change"


@dataclass(frozen=True)
class Context:
    """Who asks, under which idempotency key, and which version they last saw."""

    actor: str
    idempotency_key: str
    expected_version: int | None = None

    def meta(self) -> dict[str, Any]:
        return {"actor": self.actor, "idempotency_key": self.idempotency_key}


@dataclass(frozen=True)
class Recorded:
    """The answer to a recording command: its typed result, the plain response stored
    with its idempotency key (what the HTTP answer carries), and its log position."""

    response: dict[str, Any]
    position: int
    result: Result
    replayed: bool = False


def fingerprint(command: str, args: dict[str, Any]) -> str:
    """A stable digest of a request: the same key with a different body is refused."""

    def default(o: object) -> str:
        if isinstance(o, (dt.date, UUID)):
            return str(o)
        msg = f"cannot fingerprint {type(o).__name__}"
        raise TypeError(msg)

    canonical = json.dumps(
        {"command": command, "args": args}, sort_keys=True, separators=(",", ":"), default=default
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class KeyedLocks:
    """One lock per aggregate id, created on demand and dropped when unused.

    Commands on the same aggregate in one process queue here instead of racing to
    the database and retrying; that keeps a hot grant's throughput at one commit
    per group-commit round. Across processes, optimistic versions still decide.
    """

    def __init__(self, wait_seconds: float = 5.0) -> None:
        self._wait = wait_seconds
        self._mutex = threading.Lock()
        self._locks: dict[UUID, list[Any]] = {}

    @contextmanager
    def hold(self, key: UUID) -> Iterator[None]:
        with self._mutex:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        lock: threading.Lock = entry[0]
        # A timeout, not a deadlock: past it the command goes ahead optimistically,
        # and the event store's version check still keeps it correct.
        acquired = lock.acquire(timeout=self._wait)
        try:
            yield
        finally:
            if acquired:
                lock.release()
            with self._mutex:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[key]


class UnitOfWork:
    """Loads aggregates for one attempt at a command and collects what changed."""

    def __init__(
        self,
        repository: Repository[UUID],
        ctx: Context,
        locks: KeyedLocks,
        *,
        fresh: bool = False,
        periods: PeriodGuard | None = None,
        close_periods: bool = False,
    ) -> None:
        self._repository = repository
        # A retry reads every aggregate from the store: any cached copy may be stale,
        # including ones the failed attempt never reached.
        self._fresh = fresh
        self._locks = locks
        self._held = ExitStack()
        self.ctx = ctx
        self.changed: list[Aggregate] = []
        self.loaded: set[UUID] = set()
        self._periods = periods
        self._close_periods = close_periods

    def __enter__(self) -> UnitOfWork:
        # Taken before any aggregate lock and held until after the commit: a period
        # close (exclusive) never interleaves with a command of this process.
        if self._periods is not None:
            lock = self._periods.lock
            self._held.enter_context(lock.exclusive() if self._close_periods else lock.shared())
        return self

    def check_open(self, day: dt.date, what: str) -> None:
        """Refuse an entry whose value date lies in a closed fiscal period."""
        if self._periods is not None:
            self._periods.check_open(day, what, fresh=self._fresh)

    def __exit__(self, *exc: object) -> None:
        self._held.close()

    def get(
        self,
        cls: type[A],
        aggregate_id: UUID,
        what: str,
        *,
        target: bool = False,
        lock: bool = False,
    ) -> A:
        """Load an aggregate.

        ``target=True``: the aggregate the request acts on; locked in-process, and the
        caller's If-Match version applies. ``lock=True``: another aggregate the command
        changes, locked too. Locks are taken grant/donor first, school account last,
        so two commands never wait on each other in a cycle.
        """
        if target or lock:
            self._held.enter_context(self._locks.hold(aggregate_id))
        try:
            aggregate: Aggregate = self._load(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"{what} not found") from None
        self.loaded.add(aggregate_id)
        if not isinstance(aggregate, cls):
            raise NotFound(f"{what} not found")
        expected = self.ctx.expected_version
        if target and expected is not None and aggregate.version != expected:
            raise VersionMismatch(
                f"{what} is at version {aggregate.version}, the request expected {expected}; "
                "read it again and decide on its current state"
            )
        return aggregate

    def _load(self, aggregate_id: UUID) -> Aggregate:
        cache = self._repository.cache
        if self._fresh and cache is not None:
            with suppress(KeyError):
                cache.get(aggregate_id, evict=True)
        aggregate: Aggregate = self._repository.get(aggregate_id)
        return aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        try:
            self._load(aggregate_id)
        except AggregateNotFoundError:
            return False
        self.loaded.add(aggregate_id)
        return True

    def add(self, *aggregates: Aggregate) -> None:
        self.changed.extend(aggregates)


class Retry(Exception):
    """Decide again on state read fresh from the store (the cached state may be stale)."""


def with_retries(attempt: Callable[[int], Recorded]) -> Recorded:
    """Re-run a command whose commit lost a version race; it re-decides on fresh state."""
    for n in range(MAX_ATTEMPTS):
        try:
            return attempt(n)
        except Retry:
            continue
        except IntegrityError:
            # Jittered backoff spreads racers out so one of them wins each round.
            time.sleep(random.uniform(0, 0.001 * min(n + 1, 20)))
    raise ConcurrencyConflict(
        f"the command lost {MAX_ATTEMPTS} races for the same records; try again"
    )
