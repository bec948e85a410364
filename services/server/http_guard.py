"""HTTP/1.1 connection limits of ``ledger serve`` itself (not only behind an ingress).

uvicorn's httptools protocol (llhttp, in C), with three bounds it lacks: request
headers larger than ``http_max_header_bytes`` are refused with 431; headers that have
not arrived within ``http_header_timeout_seconds`` of a connection opening (or of the
first byte of a kept-alive connection's next request), and a body that has not
arrived within ``http_body_timeout_seconds`` of its headers, are refused with 408.
The connection is closed after each refusal; idle keep-alive connections close after
``http_keep_alive_seconds`` (uvicorn's own timer). Every slow or oversized client
therefore costs a bounded amount of memory and time.
"""

from __future__ import annotations

import asyncio
import functools
import json
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from contracts.problems import PROBLEM_TYPE_PREFIX
from ledger.infrastructure.settings import Settings

# The name ``ledger serve`` hands to uvicorn (a string, so each worker imports it).
# httptools parses a request in a fraction of h11's (pure Python) time.
PROTOCOL = "server.http_guard:GuardedHttpToolsProtocol"


@dataclass(frozen=True)
class HttpLimits:
    max_header_bytes: int
    header_timeout_seconds: float
    body_timeout_seconds: float
    keep_alive_seconds: float

    @classmethod
    def of(cls, settings: Settings) -> HttpLimits:
        return cls(
            settings.http_max_header_bytes,
            settings.http_header_timeout_seconds,
            settings.http_body_timeout_seconds,
            settings.http_keep_alive_seconds,
        )


@functools.cache
def limits() -> HttpLimits:
    """Read once per worker from the ``LEDGER_*`` environment ``ledger serve`` exported."""
    return HttpLimits.of(Settings())


def refusal(status: int, reason: str, code: str, title: str, detail: str) -> bytes:
    """A complete HTTP/1.1 problem response that closes the connection."""
    body = json.dumps(
        {"type": PROBLEM_TYPE_PREFIX + code, "title": title, "status": status, "detail": detail}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    ).encode()
    return head + body


class _Guard:
    """The guard's timers and refusals (mixed into uvicorn's protocol)."""

    limits: HttpLimits
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any
    _guard: asyncio.TimerHandle | None
    _guarding: str | None  # "headers" or "body"
    _header_bytes: int

    def _guard_init(self) -> None:
        self.limits = limits()
        self._guard, self._guarding = None, None
        self._header_bytes = 0

    def _count_header_bytes(self, data: bytes) -> bool:
        """Count bytes of a header block before the parser buffers them; False: refused.

        A header block over the limit is refused whether it arrives in pieces or in one read.
        """
        end = data.find(b"\r\n\r\n")
        self._header_bytes += len(data) if end < 0 else end + 4
        if self._header_bytes <= self.limits.max_header_bytes:
            return True
        self._refuse(
            431,
            "Request Header Fields Too Large",
            "header-too-large",
            "Request headers too large",
            f"request headers are limited to {self.limits.max_header_bytes} bytes",
        )
        return False

    def _arm(self, what: str) -> None:
        self._disarm()
        seconds = (
            self.limits.header_timeout_seconds
            if what == "headers"
            else self.limits.body_timeout_seconds
        )
        self._guarding = what
        self._guard = self.loop.call_later(seconds, self._expired, what)

    def _disarm(self) -> None:
        if self._guard is not None:
            self._guard.cancel()
        self._guard, self._guarding = None, None

    def _expired(self, what: str) -> None:
        self._guard, self._guarding = None, None
        seconds = (
            self.limits.header_timeout_seconds
            if what == "headers"
            else self.limits.body_timeout_seconds
        )
        self._refuse(
            408,
            "Request Timeout",
            "request-timeout",
            "Request timeout",
            f"the request {what} did not arrive within {seconds:g}s",
        )

    def _refuse(self, status: int, reason: str, code: str, title: str, detail: str) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and (cycle.response_started or cycle.response_complete):
            # An answer is already on the wire (one that did not read the body): cut.
            self.transport.close()
            return
        if cycle is not None:
            # The application (waiting for the body) sees a disconnect; nothing it
            # sends after this reaches the client.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.write(refusal(status, reason, code, title, detail))
        self.transport.close()


class GuardedHttpToolsProtocol(_Guard, HttpToolsProtocol):
    """httptools with the bounds. A request that arrives whole in one read (the usual
    case) arms no timer: a guard runs only while a request's headers or body are
    incomplete (and on a new connection until its first request begins)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard_init()
        self.timeout_keep_alive = int(self.limits.keep_alive_seconds)
        # "idle" (between requests), "headers" (a request begun, headers incomplete) or
        # "body" (headers done, body incomplete); set by the parser's callbacks.
        self._phase = "idle"

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase != "body" and not self._count_header_bytes(data):
            return
        super().data_received(data)
        if self.transport.is_closing():
            return
        phase = self._phase
        if phase == "idle":
            if self._guard is not None:
                self._disarm()
        elif self._guarding != phase:
            self._arm(phase)

    def on_message_begin(self) -> None:
        self._phase = "headers"
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._phase = "body"
        self._header_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._phase = "idle"
        super().on_message_complete()
