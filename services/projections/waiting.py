"""Waiting for a log position without holding a database connection.

A read that asks for ``min_position`` ahead of the read models waits here. However
many requests wait, one poller per position kind looks at the store (one short
connection per look) and wakes them all when the position moves; the projection
runner in this process wakes the poller at once after each batch, and a poll every
``poll_seconds`` covers a runner in another process. Waiting costs no pooled
connection, so slow or hostile ``min_position`` values cannot starve other reads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

Position = Callable[[AsyncConnection], Awaitable[int]]


class PositionWatch:
    def __init__(self, engine: AsyncEngine, position: Position, poll_seconds: float) -> None:
        self._engine = engine
        self._position = position
        self._poll_seconds = poll_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._moved = asyncio.Event()
        self._kick = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._waiters = 0
        self.latest = 0
        # The last error the poller met (a waiter whose wait ends reports it).
        self.error: BaseException | None = None

    def wake(self) -> None:
        """Thread-safe: the position may have moved (called by the projection runner)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._kick.set)

    def _bind(self) -> None:
        # Events belong to one loop; a new loop (a restarted app, a test client) gets new ones.
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._moved, self._kick = asyncio.Event(), asyncio.Event()
            self._poller = None

    async def wait(self, min_position: int, seconds: float) -> bool:
        """True once the store's position reaches ``min_position``; False after ``seconds``."""
        self._bind()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        self._waiters += 1
        try:
            self._kick.set()  # look now: this waiter's position may already be there
            if self._poller is None or self._poller.done():
                self._poller = loop.create_task(self._poll())
            while self.latest < min_position:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                moved = self._moved
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(moved.wait(), remaining)
            return True
        finally:
            self._waiters -= 1

    async def _poll(self) -> None:
        while self._waiters > 0:
            self._kick.clear()
            try:
                async with self._engine.connect() as conn:
                    at = await self._position(conn)
                self.error = None
            except Exception as e:
                # Waiters time out and report it; the poller keeps looking.
                self.error = e
                at = self.latest
            if at > self.latest:
                self.latest = at
                moved, self._moved = self._moved, asyncio.Event()
                moved.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self._poll_seconds)
