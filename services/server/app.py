"""The FastAPI application: wiring only; behaviour lives in the routes and the application."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from ledger import __version__
from ledger.api import access, problems
from ledger.api.import_files import ImportSettings
from ledger.api.query_params import reject_unknown_query
from ledger.api.routes import (
    approvals,
    bank_accounts,
    batches,
    entries,
    imports,
    periods,
    registry,
)
from ledger.application.app import LedgerApplication
from ledger.application.committer import CommitReport
from ledger.infrastructure.settings import Settings
from ledger.observability.logs import configure_logging
from ledger.observability.middleware import RequestObserver
from projections import api as projections_api
from projections import approvals_api, listing_api, reconciliation_api
from projections.audit import api as audit_api
from projections.audit.streams import StreamLimits
from projections.exports import routes as exports_routes
from projections.grant_lookup import open_grants
from projections.observability.business import BusinessGauges
from projections.observability.gauges import ProjectionGauges
from server import console, probes
from server.bank_side import bank_side
from server.bootstrap import System, build
from server.deadline import RequestDeadline

# Swagger UI and ReDoc scripts, served from the package (no CDN).
DOCS_ASSETS = "/docs/static"


# A served worker's collector thresholds (Python's defaults: 700, 10, 10): a young
# collection per 10,000 allocations (net of frees), a middle one per 10 young ones, and a
# full one with every middle one.
GC_THRESHOLDS = (10_000, 10, 1)


def create_served_app() -> FastAPI:
    """What ``ledger serve`` runs in each worker: the API, with the GC set for serving.

    Everything built at start-up (modules, routes, models, the application) lives as
    long as the process: frozen, full collections stop walking it (under load each walk
    took about a third of a second, several times in ten seconds). A request's objects are
    freed by reference counting, so young collections found little: run fourteen times
    less often, the collector's share of a loaded worker fell from about a tenth of its
    CPU to under one per cent. A full collection then walks only what is not frozen, so
    it runs with every middle one: garbage that outlived its request's young collections
    is freed as soon as before (with full collections ten times rarer, a worker writing
    100k events under cross-process conflicts held some 80 MB more). (Not for apps built
    in tests: an app that is dropped would keep its frozen cycles.)
    """
    return create_app(freeze_heap=True)


def create_app(
    settings: Settings | None = None,
    *,
    ledger: LedgerApplication | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """Build the API; pass ``ledger`` to share an application (tests, demo loading)."""
    settings = settings or Settings()
    configure_logging()
    # First, so a production start without key material fails before opening anything.
    verifier = access.verifier_for(settings)
    system = build(settings, ledger=ledger)
    _observe(system)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        system.start()
        if freeze_heap:
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
        try:
            yield
        finally:
            system.stop()
            await system.store.async_engine.dispose()
            system.close()

    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        # Swagger UI would otherwise send the schema to its public validator.
        swagger_ui_parameters={"validatorUrl": None},
        title="Grant ledger",
        version=__version__,
        description="Event-sourced grant and funding ledger for the hub-school programme. "
        "Amounts are integers in minor units (tiyn for KZT).",
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query)],
        # A trailing slash is another path (a 404 problem), never a redirect that would
        # name the internal host the app sees.
        redirect_slashes=False,
        # FastAPI's native OpenTelemetry is off: the ledger reports through its own
        # Prometheus metrics and request log, and the native hook would otherwise look
        # up the global OTel providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    metrics = system.metrics
    app.state.ledger = system.ledger
    app.state.metrics = metrics
    app.state.projection_gauges = ProjectionGauges(metrics.registry)
    app.state.business_gauges = BusinessGauges(metrics.registry)
    app.state.read_side = system.read_side
    app.state.stream_limits = StreamLimits(
        settings.sse_max_streams, settings.sse_max_streams_per_caller
    )
    app.state.imports = ImportSettings(
        max_bytes=settings.import_max_bytes,
        max_rows=settings.import_max_rows,
        knp_categories=dict(settings.import_knp_categories),
        open_grants=partial(open_grants, system.read_side),
    )
    app.state.bank_side = partial(bank_side, system.ledger)
    problems.install(app)
    for router in (
        registry.router,
        bank_accounts.router,
        imports.router,
        entries.router,
        projections_api.router,
        audit_api.router,
        exports_routes.router,
        probes.router,
        approvals.router,
        periods.router,
        approvals_api.router,
        listing_api.router,
        batches.router,
        reconciliation_api.router,
    ):
        app.include_router(router)
    console.mount(app)
    access.install(app, settings, verifier)  # strict JSON, body limit, access control
    console.install(app, settings, verifier)  # the console's session, outside the guards
    # Added last, so outermost: they also see refusals made by the body limit.
    app.add_middleware(RequestDeadline, seconds=settings.request_deadline_seconds)
    app.add_middleware(RequestObserver, metrics=metrics)
    return app


def _observe(system: System) -> None:
    """Commit and projection metrics, reported by the two sides' listener hooks."""
    metrics = system.metrics

    def observe_commit(report: CommitReport) -> None:
        metrics.commit_batch_size.observe(report.commands)
        metrics.commit_duration.observe(report.seconds)
        metrics.count_appended(report.event_types)

    system.ledger.committer.listeners.append(observe_commit)
    system.on_close.append(lambda: system.ledger.committer.listeners.remove(observe_commit))

    def observe_batch(types: list[str]) -> None:
        metrics.count_processed("ledger", types)

    if system.runner is not None:
        system.runner.on_batch.append(observe_batch)
