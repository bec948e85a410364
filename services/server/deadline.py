"""A deadline on every request until its response starts: a backstop behind the
bounded waits of the stores, the commit and ``min_position``.

Whatever else holds a request (a thread pool filled by an outage, a query that
ignores its timeout), the client gets a problem answer by the deadline instead of
a hang. A write cut off here may still be recorded, so it is "outcome unknown";
a read is "store unavailable". Streams are bounded only until their first byte.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.problems import RETRY_AFTER_SECONDS, send_problem

log = logging.getLogger("server.deadline")

_SAFE = ("GET", "HEAD", "OPTIONS")


class RequestDeadline:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        timeout = asyncio.timeout(self.seconds)

        async def send_and_release(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start" and not started:
                started = True
                timeout.reschedule(None)  # the answer is under way: no deadline now
            await send(message)

        try:
            async with timeout:
                await self.app(scope, receive, send_and_release)
        except TimeoutError:
            if started or not timeout.expired():
                raise
            log.warning("request deadline reached: %s %s", scope["method"], scope["path"])
            retry = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
            if scope["method"] in _SAFE:
                await send_problem(
                    scope,
                    send,
                    503,
                    "store-unavailable",
                    "Store unavailable",
                    f"no answer within the request deadline of {self.seconds:g}s; retry later",
                    retry,
                )
            else:
                await send_problem(
                    scope,
                    send,
                    503,
                    "outcome-unknown",
                    "Outcome unknown",
                    "outcome unknown: retry with the same Idempotency-Key (no answer within "
                    f"the request deadline of {self.seconds:g}s; it may still be recorded)",
                    retry,
                )
