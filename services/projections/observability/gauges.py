"""Read-side position and lag gauges, set at scrape time from the read models."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import select

from projections.audit import queries as audit_queries
from projections.service import ReadSide
from projections.tables import runs


class ProjectionGauges:
    """Read-side position and lag, computed at scrape time from the read models."""

    def __init__(self, r: CollectorRegistry) -> None:
        mode: Literal["mostrecent"] = "mostrecent"  # computed when scraped; latest wins
        self.position = Gauge(
            "ledger_projection_position", "Last log position applied.", ["projection"],
            registry=r, multiprocess_mode=mode,
        )  # fmt: skip
        self.head = Gauge(
            "ledger_projection_log_head", "Last log position.", registry=r,
            multiprocess_mode=mode,
        )  # fmt: skip
        self.lag_events = Gauge(
            "ledger_projection_lag_events", "Log positions not yet applied.", ["projection"],
            registry=r, multiprocess_mode=mode,
        )  # fmt: skip
        self.run_seconds = Gauge(
            "ledger_projection_last_run_duration_seconds",
            "Duration of the last rebuild or verify.", ["kind"], registry=r,
            multiprocess_mode=mode,
        )  # fmt: skip
        self.run_success = Gauge(
            "ledger_projection_last_run_success",
            "1 if the last rebuild or verify succeeded (verify: no difference), else 0.",
            ["kind"], registry=r, multiprocess_mode=mode,
        )  # fmt: skip
        self.run_timestamp = Gauge(
            "ledger_projection_last_run_timestamp_seconds",
            "When the last rebuild or verify finished (Unix time).", ["kind"], registry=r,
            multiprocess_mode=mode,
        )  # fmt: skip
        self.verify_differences = Gauge(
            "ledger_projection_verify_differences",
            "Differences the last verify found between live read models and a replay.",
            registry=r, multiprocess_mode=mode,
        )  # fmt: skip
        self.lag_seconds = Gauge(
            "ledger_projection_lag_seconds",
            "Age of the oldest event not yet applied (0 when caught up).",
            ["projection"],
            registry=r,
            multiprocess_mode=mode,
        )

    async def refresh(self, rs: ReadSide) -> None:
        """Set every gauge from the read side's status and the last rebuild/verify runs."""
        status = await rs.status()
        name = str(status["name"])
        self.position.labels(name).set(int(str(status["position"])))
        self.head.set(int(str(status["log_head"])))
        self.lag_events.labels(name).set(int(str(status["lag_events"])))
        self.lag_seconds.labels(name).set(float(str(status["lag_seconds"])))
        async with rs.store.async_engine.connect() as conn:
            last_runs = (await conn.execute(select(runs))).mappings().all()
            # The audit chain follows the same log: its position and lag under the same names.
            chained = await audit_queries.head_position(conn)
        self.position.labels("audit").set(chained)
        self.lag_events.labels("audit").set(max(0, int(str(status["log_head"])) - chained))
        for run in last_runs:
            kind = str(run["kind"])
            finished = run["finished_at"]
            if finished.tzinfo is None:  # SQLite keeps no offset; stored as UTC
                finished = finished.replace(tzinfo=dt.UTC)
            self.run_seconds.labels(kind).set(run["duration_ms"] / 1000)
            self.run_success.labels(kind).set(1 if run["ok"] else 0)
            self.run_timestamp.labels(kind).set(finished.timestamp())
            if kind == "verify":
                self.verify_differences.set(run["differences"])
