"""Structured JSON logs: one line per request, with a request id the caller can follow.

Only metadata is logged (route, actor, outcome, entry id, position, duration):
never a request body, a header value other than the request id, or a secret.

Set up as structlog's performance guide has it: a filtering bound logger (a call below
the level is a no-op), cached on first use, rendering straight to a file object (no
round trip through the stdlib ``logging`` module).
"""

from __future__ import annotations

import logging
import re
import sys

import structlog

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
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
        # Writes and flushes each line itself: cheaper than print(), and a line is on
        # its way to the collector before the next request (nothing lost on a kill).
        logger_factory=structlog.WriteLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    _configured = True


def request_id_of(given: bytes | None) -> str | None:
    """A caller's X-Request-ID, kept only if it is safe to echo and to log."""
    if not given:
        return None
    text = given.decode("latin-1")
    return text if REQUEST_ID.match(text) else None
