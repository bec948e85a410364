"""Request metrics as pure ASGI middleware: labelled by route template, never raw path."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.observability.metrics import Metrics


class RequestMetrics:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if (b"idempotent-replayed", b"true") in message.get("headers", []):
                    self.metrics.idempotent_replays.inc()
            await send(message)

        self.metrics.http_in_flight.inc()
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.http_in_flight.dec()
            route = scope.get("route")
            # Unmatched paths share one label: a scanner must not grow the series.
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.http_requests.labels(template, method, f"{status // 100}xx").inc()
            self.metrics.http_duration.labels(template, method).observe(
                time.perf_counter() - started
            )
