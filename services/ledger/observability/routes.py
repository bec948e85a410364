"""/metrics for Prometheus, /healthz and /readyz for Kubernetes probes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from starlette.concurrency import run_in_threadpool

from ledger.observability.business import BusinessGauges
from ledger.observability.metrics import Metrics
from projections.service import ReadSide

router = APIRouter(tags=["operations"])

# Readiness fails when the read side is this far behind: reads would time out.
READY_MAX_LAG_SECONDS = 30.0


class ProjectionGauges:
    """Read-side position and lag, computed at scrape time from the read models."""

    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry
        self.position = Gauge(
            "ledger_projection_position", "Last log position applied.", ["projection"], registry=r
        )
        self.head = Gauge("ledger_projection_log_head", "Last log position.", registry=r)
        self.lag_events = Gauge(
            "ledger_projection_lag_events", "Log positions not yet applied.", ["projection"],
            registry=r,
        )  # fmt: skip
        self.lag_seconds = Gauge(
            "ledger_projection_lag_seconds",
            "Age of the oldest event not yet applied (0 when caught up).",
            ["projection"],
            registry=r,
        )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    m: Metrics = request.app.state.metrics
    gauges: ProjectionGauges = request.app.state.projection_gauges
    rs: ReadSide = request.app.state.read_side
    status = await rs.status()
    name = str(status["name"])
    gauges.position.labels(name).set(float(str(status["position"])))
    gauges.head.set(float(str(status["log_head"])))
    gauges.lag_events.labels(name).set(float(str(status["lag_events"])))
    gauges.lag_seconds.labels(name).set(float(str(status["lag_seconds"])))
    business: BusinessGauges = request.app.state.business_gauges
    await business.refresh(rs)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)


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
