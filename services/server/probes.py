"""/metrics for Prometheus, /healthz and /readyz for Kubernetes probes."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from ledger.observability.metrics import Metrics
from projections.observability.business import BusinessGauges
from projections.observability.gauges import ProjectionGauges
from projections.service import ReadSide, active_position

router = APIRouter(tags=["operations"])

# Readiness fails when the read side is this far behind: reads would time out.
READY_MAX_LAG_SECONDS = 30.0
# /readyz answers within this long whatever the stores do (probes time out at 1 s).
READY_TIMEOUT_SECONDS = 0.9
_PROBE_THREADS = 2
_probes = ThreadPoolExecutor(_PROBE_THREADS, thread_name_prefix="readyz")
_running: set[asyncio.Future[Any]] = set()
T = TypeVar("T")


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
    """Readiness, answered within a second: the event store and the read store answer,
    and the read side is not far behind. A check that does not answer in time fails."""
    rs: ReadSide = request.app.state.read_side
    checks = await _readiness(rs)
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
        headers=None if ready else {"Retry-After": "2"},
    )


async def _readiness(rs: ReadSide) -> dict[str, str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_SECONDS
    head_task = asyncio.ensure_future(_off_loop(rs.log.head))
    read_task = asyncio.ensure_future(rs.wait_for(active_position, None))
    await asyncio.wait({head_task, read_task}, timeout=READY_TIMEOUT_SECONDS * 0.6)
    checks = {
        "event_store": _outcome(head_task),
        "read_store": _outcome(read_task),
    }
    if checks["event_store"] != "ok" or checks["read_store"] != "ok":
        checks["projections"] = "unknown"
        return checks
    head, at = head_task.result(), read_task.result()
    if head <= at:
        checks["projections"] = "ok"
        return checks
    lag_task = asyncio.ensure_future(_off_loop(rs.oldest_unapplied, at))
    await asyncio.wait({lag_task}, timeout=max(0.0, deadline - loop.time()))
    outcome = _outcome(lag_task)
    if outcome != "ok":
        checks["projections"] = outcome
        return checks
    oldest: dt.datetime | None = lag_task.result()
    lag = 0.0 if oldest is None else (dt.datetime.now(dt.UTC) - oldest).total_seconds()
    checks["projections"] = "ok" if lag <= READY_MAX_LAG_SECONDS else f"lagging {lag:.1f}s"
    return checks


def _outcome(task: asyncio.Future[Any]) -> str:
    if not task.done():
        task.cancel()
        return "unavailable: no answer in time"
    error = task.exception()
    return "ok" if error is None else f"unavailable: {type(error).__name__}"


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking check on the probe's own threads, never the request thread pool
    (which a store outage can fill); a check still running from an earlier probe
    counts as no answer instead of queueing another."""
    if len(_running) >= _PROBE_THREADS:
        msg = "earlier readiness checks are still running"
        raise TimeoutError(msg)
    future = asyncio.get_running_loop().run_in_executor(_probes, fn, *args)
    _running.add(future)
    future.add_done_callback(_running.discard)
    return await asyncio.shield(future)
