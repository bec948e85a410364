"""Structured JSON logs: one line per request, with a request id the caller can follow.

Only metadata is logged (route, actor, outcome, entry id, position, duration):
never a request body, a header value other than the request id, or a secret.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_configured = False


def configure_logging() -> None:
    """JSON lines on stderr (what a container log collector expects); once per process."""
    global _configured  # noqa: PLW0603 (process-wide logging set-up, done once)
    if _configured:
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    _configured = True


class RequestLog:
    """Pure ASGI middleware: request id in and out, one structured line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = structlog.get_logger("ledger.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        # A caller's id is kept only if it is safe to echo and to log.
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        answer: dict[str, str] = {}
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_headers = list(message.get("headers", []))
                for name, value in response_headers:
                    if name in (b"x-entry-id", b"x-log-position", b"idempotent-replayed"):
                        answer[name.decode()] = value.decode("latin-1")
                response_headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": response_headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            # The verified subject, left in the scope by AccessControl (never a header).
            actor = getattr(scope.get("ledger.principal"), "subject", None) or "anonymous"
            self.log.info(
                "request",
                request_id=request_id,
                method=scope.get("method"),
                route=route,
                status=status,
                outcome="ok" if status < 400 else ("refused" if status < 500 else "error"),
                actor=actor,
                entry_id=answer.get("x-entry-id"),
                position=int(answer["x-log-position"]) if "x-log-position" in answer else None,
                replayed=answer.get("idempotent-replayed") == "true",
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
