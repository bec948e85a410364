"""Prometheus metrics of the ledger (``ledger_`` prefix, base units, bounded labels).

Labels never carry a grant, entry or school id: a route is labelled by its
template, a command refusal by its reason class, an event by its type.
"""

from __future__ import annotations

import collections
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from ledger import __version__

# From well under a millisecond (cached reads) to seconds (a commit under load).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def _git_sha() -> str:
    sha = os.environ.get("LEDGER_GIT_SHA")
    if sha:
        return sha
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 (informational only)
            capture_output=True,
            text=True,
            timeout=2,
            cwd=Path(__file__).parent,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


class Metrics:
    """One registry per application instance (tests build many apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "ledger_http_requests",
            "HTTP requests answered, by route template, method and status class.",
            ["route", "method", "status_class"],
            registry=r,
        )
        self.http_duration = Histogram(
            "ledger_http_request_duration_seconds",
            "HTTP request latency by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.http_in_flight = Gauge(
            "ledger_http_requests_in_flight",
            "HTTP requests being served.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.events_appended = Counter(
            "ledger_events_appended", "Events recorded, by event type.", ["type"], registry=r
        )
        self.commands_rejected = Counter(
            "ledger_commands_rejected",
            "Recording requests refused, by reason (validation, invariant, conflict, "
            "not_found, idempotency).",
            ["reason"],
            registry=r,
        )
        self.idempotent_replays = Counter(
            "ledger_idempotent_replays",
            "Retried requests answered from their idempotency claim (nothing recorded).",
            registry=r,
        )
        self.commit_batch_size = Histogram(
            "ledger_commit_batch_commands",
            "Commands written per event-store transaction (group commit).",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.commit_duration = Histogram(
            "ledger_commit_duration_seconds",
            "Duration of one event-store transaction.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.events_processed = Counter(
            "ledger_projection_events_processed",
            "Events applied to the live read models, by projection and event type.",
            ["projection", "type"],
            registry=r,
        )
        self.store_errors = Counter(
            "ledger_event_store_errors", "Event-store operations that failed.", registry=r
        )
        self.auth_refusals = Counter(
            "ledger_auth_refusals",
            "Requests refused by access control, by reason (missing_token, invalid_token, "
            "forbidden, keys_unavailable).",
            ["reason"],
            registry=r,
        )
        # A gauge rather than an Info: it aggregates in multiprocess mode.
        self.build = Gauge(
            "ledger_build_info",
            "Version and git commit of the service (always 1).",
            ["version", "git_sha"],
            registry=r,
            multiprocess_mode="max",
        )
        self.build.labels(__version__, _git_sha()).set(1)
        self.pool_connections = Gauge(
            "ledger_db_pool_connections",
            "Database connections per pool and state (in_use, idle).",
            ["pool", "state"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.pool_waiting = Gauge(
            "ledger_db_pool_waiting_requests",
            "Requests waiting for a connection, per pool.",
            ["pool"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self._appended: dict[str, Any] = {}
        self._processed: dict[str, dict[str, Any]] = {}
        if not multiprocess_dir():
            # Per-process collectors; prometheus-client cannot aggregate them across
            # worker processes, so they are only exposed by a single-process server.
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)

    def count_appended(self, event_types: Iterable[str]) -> None:
        """ledger_events_appended_total: one per event, children bound once per type."""
        self._count(self.events_appended, self._appended, event_types)

    def count_processed(self, projection: str, event_types: Iterable[str]) -> None:
        """ledger_projection_events_processed_total, children bound once per type."""
        children = self._processed.setdefault(projection, {})
        self._count(self.events_processed, children, event_types, projection)

    @staticmethod
    def _count(
        metric: Counter, children: dict[str, Any], event_types: Iterable[str], *prefix: str
    ) -> None:
        for event_type, n in collections.Counter(event_types).items():
            child = children.get(event_type)
            if child is None:
                child = children[event_type] = metric.labels(*prefix, event_type)
            child.inc(n)

    def exposition(self) -> bytes:
        """The scrape body: this app's registry, or all workers' files in multiprocess mode."""
        if multiprocess_dir():
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
