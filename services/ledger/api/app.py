"""The FastAPI application: wiring only; behaviour lives in the routes and the application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ledger import __version__
from ledger.api import access, approvals_wiring, problems
from ledger.api.routes import entries, registry
from ledger.application.app import LedgerApplication
from ledger.application.committer import CommitReport
from ledger.infrastructure.settings import Settings, eventsourcing_env
from ledger.observability import routes as observability_routes
from ledger.observability.business import BusinessGauges
from ledger.observability.logs import RequestLog, configure_logging
from ledger.observability.metrics import Metrics
from ledger.observability.middleware import RequestMetrics
from ledger.observability.routes import ProjectionGauges
from projections import api as projections_api
from projections.audit import api as audit_api
from projections.exports import routes as exports_routes
from projections.runner import ProjectionRunner
from projections.service import ReadSide
from projections.store import ReadStore


def create_app(
    settings: Settings | None = None, *, ledger: LedgerApplication | None = None
) -> FastAPI:
    """Build the API; pass ``ledger`` to share an application (tests, demo loading)."""
    settings = settings or Settings()
    configure_logging()
    # First, so a production start without key material fails before opening anything.
    verifier = access.verifier_for(settings)
    owned = ledger is None
    application = ledger or LedgerApplication(
        eventsourcing_env(settings.database_url, settings.pool_size),
        commit_batch_max=settings.commit_batch_max,
        approvals=settings.approval_policy(),
        period_refresh_seconds=settings.period_refresh_seconds,
    )

    store = ReadStore.for_database(settings.projections_url or settings.database_url)
    store.ensure_schema()
    runner = ProjectionRunner(application, store) if settings.run_projections else None
    if runner is not None:
        application.committer.listeners.append(runner.wake)
    metrics = Metrics()

    def observe_commit(report: CommitReport) -> None:
        metrics.commit_batch_size.observe(report.commands)
        metrics.commit_duration.observe(report.seconds)
        for event_type in report.event_types:
            metrics.events_appended.labels(event_type).inc()

    application.committer.listeners.append(observe_commit)

    def observe_batch(types: list[str]) -> None:
        for event_type in types:
            metrics.events_processed.labels("ledger", event_type).inc()

    if runner is not None:
        runner.on_batch.append(observe_batch)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if runner is not None:
            runner.start()
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()
                application.committer.listeners.remove(runner.wake)
            application.committer.listeners.remove(observe_commit)
            await store.async_engine.dispose()
            store.close()
            if owned:
                application.close()

    app = FastAPI(
        title="Grant ledger",
        version=__version__,
        description="Event-sourced grant and funding ledger for the hub-school programme. "
        "Amounts are integers in minor units (tiyn for KZT).",
        lifespan=lifespan,
    )
    app.state.ledger = application
    app.state.metrics = metrics
    app.state.projection_gauges = ProjectionGauges(metrics)
    app.state.business_gauges = BusinessGauges(metrics)
    app.state.read_side = ReadSide(
        application, store, runner, max_wait_seconds=settings.read_wait_seconds
    )
    problems.install(app)
    for router in (
        registry.router,
        entries.router,
        projections_api.router,
        audit_api.router,
        exports_routes.router,
        observability_routes.router,
    ):
        app.include_router(router)
    approvals_wiring.install(app, application, store, settings, sweep=runner is not None)
    access.install(app, settings, verifier)  # strict JSON, body limit, access control
    # Added last, so outermost: they also see refusals made by the body limit.
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.add_middleware(RequestLog)
    return app
