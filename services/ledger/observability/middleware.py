"""One pure ASGI layer observes every request: its id, its log line, its metrics.

Metrics are labelled by route template, never the raw path. Their label children are
bound once per (route, method[, status class]) and kept, so a request costs dictionary
look-ups and increments, not a ``.labels()`` call (a lock and a tuple build) per metric.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.access import PRINCIPAL
from ledger.observability.logs import request_id_of
from ledger.observability.metrics import Metrics

# Response headers the log line reports (set by the recording routes).
_ENTRY_ID = b"x-entry-id"
_POSITION = b"x-log-position"
_REPLAYED = b"idempotent-replayed"
_REQUEST_ID = b"x-request-id"


class RequestObserver:
    """Request id in and out, one structured log line, request count and latency."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # A lazy proxy, bound (and then cached) at the first request, after the app's
        # configure_logging.
        self.log = structlog.get_logger("ledger.http")
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._durations: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope["headers"]:
            if name == _REQUEST_ID:
                given = value
                break
        request_id = request_id_of(given) or uuid.uuid4().hex
        echoed = (_REQUEST_ID, request_id.encode())
        status = 500
        entry_id: str | None = None
        position: int | None = None
        replayed = False
        started = time.perf_counter()

        async def observed_send(message: Message) -> None:
            nonlocal status, entry_id, position, replayed
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers") or []
                for name, value in headers:
                    if name == _POSITION:
                        position = int(value)
                    elif name == _ENTRY_ID:
                        entry_id = value.decode("latin-1")
                    elif name == _REPLAYED:
                        replayed = value == b"true"
                message = {**message, "headers": [*headers, echoed]}
            await send(message)

        in_flight = self.metrics.http_in_flight
        in_flight.inc()
        try:
            await self.app(scope, receive, observed_send)
        finally:
            in_flight.dec()
            seconds = time.perf_counter() - started
            # Unmatched paths share one label: a scanner must not grow the series.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            self._observe(route, method, status, seconds, replayed)
            # The verified subject, left in the scope by AccessControl (never a header).
            actor = getattr(scope.get(PRINCIPAL), "subject", None) or "anonymous"
            self.log.info(
                "request",
                request_id=request_id,
                method=method,
                route=route,
                status=status,
                outcome="ok" if status < 400 else ("refused" if status < 500 else "error"),
                actor=actor,
                entry_id=entry_id,
                position=position,
                replayed=replayed,
                duration_ms=round(seconds * 1000, 3),
            )

    def _observe(
        self, route: str, method: str, status: int, seconds: float, replayed: bool
    ) -> None:
        status_class = status // 100
        count = self._counts.get((route, method, status_class))
        if count is None:
            count = self.metrics.http_requests.labels(route, method, f"{status_class}xx")
            self._counts[(route, method, status_class)] = count
        count.inc()
        duration = self._durations.get((route, method))
        if duration is None:
            duration = self.metrics.http_duration.labels(route, method)
            self._durations[(route, method)] = duration
        duration.observe(seconds)
        if replayed:
            self.metrics.idempotent_replays.inc()
