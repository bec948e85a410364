"""/metrics for Prometheus, /healthz and /readyz for Kubernetes probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from ledger.observability.metrics import Metrics
from projections.observability.business import BusinessGauges
from projections.observability.gauges import ProjectionGauges
from projections.service import ReadSide

router = APIRouter(tags=["operations"])

# Readiness fails when the read side is this far behind: reads would time out.
READY_MAX_LAG_SECONDS = 30.0


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    m: Metrics = request.app.state.metrics
    gauges: ProjectionGauges = request.app.state.projection_gauges
    rs: ReadSide = request.app.state.read_side
    await gauges.refresh(rs)
    business: BusinessGauges = request.app.state.business_gauges
    await business.refresh(rs)
    _pool_gauges(m, rs, request.app.state.ledger)
    return Response(m.exposition(), media_type=CONTENT_TYPE_LATEST)


def _pool_gauges(m: Metrics, rs: ReadSide, ledger: Any) -> None:
    datastore = getattr(ledger.recorder, "datastore", None)
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
        await run_in_threadpool(rs.log.head)
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
