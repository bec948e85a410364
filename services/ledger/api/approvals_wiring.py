"""Wiring of maker-checker and fiscal periods into the app: routes and the expiry sweeper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from ledger.api.routes import approvals, periods
from ledger.application.app import LedgerApplication
from ledger.infrastructure.settings import Settings
from projections import approvals_api
from projections.store import ReadStore
from projections.sweeper import ExpirySweeper


def install(
    app: FastAPI,
    ledger: LedgerApplication,
    store: ReadStore,
    settings: Settings,
    *,
    sweep: bool,
) -> None:
    """Add the routes; with ``sweep``, expire overdue requests while the app runs."""
    app.include_router(approvals.router)
    app.include_router(periods.router)
    app.include_router(approvals_api.router)
    if not sweep:
        return
    sweeper = ExpirySweeper(ledger, store, settings.expiry_sweep_seconds)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        async with inner(a) as state:
            # Inside the app's own lifespan: stopped before the ledger is closed.
            sweeper.start()
            try:
                yield state
            finally:
                sweeper.stop()

    app.router.lifespan_context = lifespan
