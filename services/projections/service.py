"""The read side's service: waits for positions, opens consistent reads, builds answers."""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.concurrency import run_in_threadpool

from ledger.domain.errors import DomainError
from projections import queries
from projections.log import EventLog
from projections.runner import ProjectionRunner
from projections.store import ReadStore, active_tables
from projections.tables import PROJECTION_NAME, Tables
from projections.waiting import Position, PositionWatch

# A runner in another process wakes nobody here: waiters look this often.
POLL_SECONDS = 0.1

# Failures that mean the read store is down, restarting or out of connections (not
# a bug in a query): the answer is a 503 to retry, never a 500.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # the pool's wait for a connection ran out
    OSError,
    TimeoutError,
)


class ProjectionLagging(DomainError):
    code = "projection-lagging"
    title = "Read models have not reached the requested position"


class ReadStoreUnavailable(DomainError):
    code = "read-store-unavailable"
    title = "Read store unavailable"


def unavailable(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _UNAVAILABLE)


@dataclass
class Read:
    conn: AsyncConnection
    tables: Tables
    position: int


class ReadSide:
    def __init__(
        self,
        log: EventLog,
        store: ReadStore,
        runner: ProjectionRunner | None = None,
        *,
        max_wait_seconds: float = 5.0,
        read_your_writes: bool = True,
    ) -> None:
        self.log = log
        self.store = store
        self.runner = runner
        self.max_wait_seconds = max_wait_seconds
        # A read that names no position waits (bounded) for the log head as of its
        # arrival, so a caller always sees what it has just recorded, through any process.
        self.read_your_writes = read_your_writes
        self._eventual: ReadSide | None = None
        self._watches: dict[Position, PositionWatch] = {}
        if runner is not None:
            runner.on_advance.append(self.wake)

    def wake(self) -> None:
        """The log was applied further (thread-safe): wake whoever waits for a position."""
        for watch in list(self._watches.values()):
            watch.wake()

    def _watch(self, position: Position) -> PositionWatch:
        watch = self._watches.get(position)
        if watch is None:
            watch = PositionWatch(self.store.async_engine, position, POLL_SECONDS)
            self._watches[position] = watch
        return watch

    @property
    def eventual(self) -> ReadSide:
        """The same read side answering from wherever the read models are (no wait)."""
        if not self.read_your_writes:
            return self
        if self._eventual is None:
            # A shallow copy: it shares the position watches (and the runner's wake-ups).
            twin = copy.copy(self)
            twin.read_your_writes = False
            self._eventual = twin
        return self._eventual

    @asynccontextmanager
    async def reading(
        self, position: Position, min_position: int | None, what: str = "read models"
    ) -> AsyncIterator[tuple[AsyncConnection, int]]:
        """A connection and where ``position`` says the model is, once it reflects
        ``min_position`` (bounded wait, holding no connection while waiting).

        A store that is down or out of connections is ``ReadStoreUnavailable`` (503).
        """
        deadline = time.monotonic() + self.max_wait_seconds
        head: int | None = None
        try:
            if min_position is None and self.read_your_writes:
                min_position = await run_in_threadpool(self.log.head)
            while True:
                async with self.store.async_engine.connect() as conn:
                    at = await position(conn)
                    if min_position is None or at >= min_position:
                        yield conn, at
                        return
                if head is None:
                    # Waiting for a position nothing was recorded at would only run out
                    # the clock: answer at once.
                    head = await run_in_threadpool(self.log.head)
                    if min_position > head:
                        raise ProjectionLagging(
                            f"position {min_position} is beyond the end of the event log "
                            f"(position {head}); {what} are at position {at}"
                        )
                remaining = deadline - time.monotonic()
                watch = self._watch(position)
                if remaining <= 0 or not await watch.wait(min_position, remaining):
                    if watch.error is not None and unavailable(watch.error):
                        raise watch.error
                    raise ProjectionLagging(
                        f"{what} are at position {at}, {min_position} was asked for; "
                        f"waited {self.max_wait_seconds:g}s. Retry shortly."
                    )
        except Exception as e:
            if unavailable(e):
                raise ReadStoreUnavailable(
                    f"the read store did not answer ({type(e).__name__}); retry shortly"
                ) from e
            raise

    async def wait_for(
        self, position: Position, min_position: int | None, what: str = "read models"
    ) -> int:
        """Where ``position`` says the model is, once it reflects ``min_position``."""
        async with self.reading(position, min_position, what) as (_, at):
            return at

    @asynccontextmanager
    async def read(self, min_position: int | None = None) -> AsyncIterator[Read]:
        """A connection on the active tables, once they reflect ``min_position``."""
        async with self.reading(active_position, min_position) as (conn, at):
            yield Read(conn, await active_tables(conn), at)

    async def status(self) -> dict[str, object]:
        async with self.eventual.read() as r:
            generation, at = r.tables.generation, r.position
        head, oldest = await run_in_threadpool(self._head_and_oldest_unapplied, at)
        lag_seconds = 0.0
        if oldest is not None:
            lag_seconds = max(0.0, (dt.datetime.now(dt.UTC) - oldest).total_seconds())
        return {
            "name": PROJECTION_NAME,
            "generation": generation,
            "position": at,
            "log_head": head,
            "lag_events": max(0, head - at),
            "lag_seconds": round(lag_seconds, 3),
            "role": self.runner.role if self.runner else "external",
            "last_error": self.runner.last_error if self.runner else None,
        }

    def _head_and_oldest_unapplied(self, at: int) -> tuple[int, dt.datetime | None]:
        head = self.log.head()
        if head <= at:
            return head, None
        return head, self.oldest_unapplied(at)

    def oldest_unapplied(self, at: int) -> dt.datetime | None:
        """When the first event after position ``at`` was recorded (blocking)."""
        notes = self.log.select(at + 1, 1)
        if not notes:
            return None
        event = self.log.decode(notes[0])
        timestamp: dt.datetime = event.timestamp
        return timestamp


async def active_position(conn: AsyncConnection) -> int:
    return await queries.position(conn, await active_tables(conn))
