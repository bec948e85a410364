"""One command's view while it is decided: what it reads and changes, and its answer."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from ledger.application.results import Result
from ledger.domain.errors import DomainError, NotFound, VersionMismatch
from ledger.domain.periods import CALENDAR_ID, FiscalCalendar

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


class Workspace(Protocol):
    """The state a command decides on: the sequencer's aggregates, advancing in order."""

    def load(self, aggregate_id: UUID) -> Aggregate:
        """The current aggregate; raises ``AggregateNotFoundError``."""


class UnitOfWork:
    """What one command reads and changes while it is decided."""

    def __init__(
        self, workspace: Workspace, ctx: Context, dates: PeriodGuard | None = None
    ) -> None:
        self._workspace = workspace
        self.ctx = ctx
        self._dates = dates
        self.changed: list[Aggregate] = []
        # Every aggregate the command read, so a refusal can be confirmed on stored
        # state and a half-applied change can be undone.
        self.loaded: dict[UUID, Aggregate | None] = {}

    def check_open(self, day: dt.date, what: str) -> None:
        """Refuse an entry whose value date lies in a closed fiscal period.

        The calendar is read like any aggregate, so the commit can check that no
        other process changed it before this entry was recorded. A value date too far
        ahead of today (in the programme's zone) is refused first.
        """
        if self._dates is not None:
            self._dates.check_horizon(day, what)
        try:
            calendar = self._workspace.load(CALENDAR_ID)
        except AggregateNotFoundError:
            self.loaded[CALENDAR_ID] = None
            return
        self.loaded[CALENDAR_ID] = calendar
        assert isinstance(calendar, FiscalCalendar)
        calendar.check_open(day, what)

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

        ``target=True``: the aggregate the request acts on; the caller's If-Match
        version applies. ``lock`` is kept for callers: the sequencer decides one
        command at a time, so nothing needs locking.
        """
        del lock
        try:
            aggregate = self._workspace.load(aggregate_id)
        except AggregateNotFoundError:
            self.loaded[aggregate_id] = None
            raise NotFound(f"{what} not found") from None
        self.loaded[aggregate_id] = aggregate
        if not isinstance(aggregate, cls):
            raise NotFound(f"{what} not found")
        expected = self.ctx.expected_version
        if target and expected is not None and aggregate.version != expected:
            raise VersionMismatch(
                f"{what} is at version {aggregate.version}, the request expected {expected}; "
                "read it again and decide on its current state"
            )
        return aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        try:
            self.loaded[aggregate_id] = self._workspace.load(aggregate_id)
        except AggregateNotFoundError:
            self.loaded[aggregate_id] = None
            return False
        return True

    def add(self, *aggregates: Aggregate) -> None:
        self.changed.extend(a for a in aggregates if all(a is not c for c in self.changed))
