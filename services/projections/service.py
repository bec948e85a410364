"""The read side's service: waits for positions, opens consistent reads, builds answers."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.concurrency import run_in_threadpool

from ledger.domain.errors import DomainError
from projections import queries
from projections.log import EventLog
from projections.runner import ProjectionRunner
from projections.store import ReadStore, active_tables
from projections.tables import PROJECTION_NAME, Tables

WAIT_STEP_SECONDS = 0.01


class ProjectionLagging(DomainError):
    code = "projection-lagging"
    title = "Read models have not reached the requested position"


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
    ) -> None:
        self.log = log
        self.store = store
        self.runner = runner
        self.max_wait_seconds = max_wait_seconds

    async def wait_for(
        self,
        conn: AsyncConnection,
        position: Callable[[AsyncConnection], Awaitable[int]],
        min_position: int | None,
        what: str = "read models",
    ) -> int:
        """Where ``position`` says the model is, once it reflects ``min_position`` (bounded)."""
        deadline = time.monotonic() + self.max_wait_seconds
        head: int | None = None
        while True:
            at = await position(conn)
            if min_position is None or at >= min_position:
                return at
            if head is None:
                # Waiting for a position nothing was recorded at would only run out
                # the clock: answer at once.
                head = await run_in_threadpool(self.log.head)
                if min_position > head:
                    raise ProjectionLagging(
                        f"position {min_position} is beyond the end of the event log "
                        f"(position {head}); {what} are at position {at}"
                    )
            if time.monotonic() >= deadline:
                raise ProjectionLagging(
                    f"{what} are at position {at}, {min_position} was asked for; "
                    f"waited {self.max_wait_seconds:g}s. Retry shortly."
                )
            await conn.rollback()  # end the snapshot so the next look sees new rows
            await asyncio.sleep(WAIT_STEP_SECONDS)

    @asynccontextmanager
    async def read(self, min_position: int | None = None) -> AsyncIterator[Read]:
        """A connection on the active tables, once they reflect ``min_position``."""
        async with self.store.async_engine.connect() as conn:
            found: list[Tables] = []

            async def active_position(c: AsyncConnection) -> int:
                found[:] = [await active_tables(c)]
                return await queries.position(c, found[0])

            at = await self.wait_for(conn, active_position, min_position)
            yield Read(conn, found[0], at)

    async def status(self) -> dict[str, object]:
        async with self.read() as r:
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
        notes = self.log.select(at + 1, 1)
        if not notes:
            return head, None
        event = self.log.decode(notes[0])
        timestamp: dt.datetime = event.timestamp
        return head, timestamp
