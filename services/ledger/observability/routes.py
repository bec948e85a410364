"""/metrics for Prometheus, /healthz and /readyz for Kubernetes probes."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Gauge
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from ledger.observability.business import BusinessGauges
from ledger.observability.metrics import Metrics
from projections.audit import queries as audit_queries
from projections.service import ReadSide
from projections.tables import runs

router = APIRouter(tags=["operations"])

# Readiness fails when the read side is this far behind: reads would time out.
READY_MAX_LAG_SECONDS = 30.0


class ProjectionGauges:
    """Read-side position and lag, computed at scrape time from the read models."""

    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry
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


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    m: Metrics = request.app.state.metrics
    gauges: ProjectionGauges = request.app.state.projection_gauges
    rs: ReadSide = request.app.state.read_side
    status = await rs.status()
    name = str(status["name"])
    gauges.position.labels(name).set(int(str(status["position"])))
    gauges.head.set(int(str(status["log_head"])))
    gauges.lag_events.labels(name).set(int(str(status["lag_events"])))
    gauges.lag_seconds.labels(name).set(float(str(status["lag_seconds"])))
    async with rs.store.async_engine.connect() as conn:
        last_runs = (await conn.execute(select(runs))).mappings().all()
        # The audit chain follows the same log: its position and lag under the same names.
        chained = await audit_queries.head_position(conn)
    gauges.position.labels("audit").set(chained)
    gauges.lag_events.labels("audit").set(max(0, int(str(status["log_head"])) - chained))
    for run in last_runs:
        kind = str(run["kind"])
        finished = run["finished_at"]
        if finished.tzinfo is None:  # SQLite keeps no offset; stored as UTC
            finished = finished.replace(tzinfo=dt.UTC)
        gauges.run_seconds.labels(kind).set(run["duration_ms"] / 1000)
        gauges.run_success.labels(kind).set(1 if run["ok"] else 0)
        gauges.run_timestamp.labels(kind).set(finished.timestamp())
        if kind == "verify":
            gauges.verify_differences.set(run["differences"])
    business: BusinessGauges = request.app.state.business_gauges
    await business.refresh(rs)
    _pool_gauges(m, rs)
    return Response(m.exposition(), media_type=CONTENT_TYPE_LATEST)


def _pool_gauges(m: Metrics, rs: ReadSide) -> None:
    datastore = getattr(rs.ledger.recorder, "datastore", None)
    pool = getattr(datastore, "pool", None)
    if pool is not None and hasattr(pool, "get_stats"):  # psycopg_pool (PostgreSQL)
        stats = pool.get_stats()
        size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
        m.pool_connections.labels("event_store", "in_use").set(size - idle)
        m.pool_connections.labels("event_store", "idle").set(idle)
        m.pool_waiting.labels("event_store").set(stats.get("requests_waiting", 0))
    read_pool: Any = rs.store.async_engine.pool
    if hasattr(read_pool, "checkedout"):
        m.pool_connections.labels("read_models", "in_use").set(read_pool.checkedout())
        m.pool_connections.labels("read_models", "idle").set(read_pool.checkedin())


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    """Liveness: the process answers. No dependency is checked (a restart fixes none)."""
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    """Readiness: the event store answers and the read side is not far behind."""
    rs: ReadSide = request.app.state.read_side
    checks: dict[str, str] = {}
    try:
        await run_in_threadpool(rs.ledger.log_head)
        checks["event_store"] = "ok"
        status = await rs.status()
        lag = float(str(status["lag_seconds"]))
        checks["projections"] = "ok" if lag <= READY_MAX_LAG_SECONDS else f"lagging {lag:.1f}s"
    except Exception as e:
        checks.setdefault("event_store", f"unavailable: {type(e).__name__}")
    ready = all(v == "ok" for v in checks.values()) and len(checks) == 2
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
