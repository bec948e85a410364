"""The FastAPI application: wiring only; behaviour lives in the routes and the application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ledger import __version__
from ledger.api import problems
from ledger.api.limits import BodySizeLimit
from ledger.api.routes import entries, registry
from ledger.application.app import LedgerApplication
from ledger.infrastructure.settings import Settings, eventsourcing_env


def create_app(
    settings: Settings | None = None, *, ledger: LedgerApplication | None = None
) -> FastAPI:
    """Build the API; pass ``ledger`` to share an application (tests, demo loading)."""
    settings = settings or Settings()
    owned = ledger is None
    application = ledger or LedgerApplication(
        eventsourcing_env(settings.database_url, settings.pool_size),
        commit_batch_max=settings.commit_batch_max,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
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
    problems.install(app)
    app.include_router(registry.router)
    app.include_router(entries.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
