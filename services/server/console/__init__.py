"""The web console under /console: pages for finance officers, approvers and auditors.

Rendered on the server (Jinja2), every asset shipped in this package, no script inline. It
reads and records through the API in process as the signed-in person (``client.py``), and
the API's policy table decides what each role sees and may do, page by page.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from ledger.api.auth import TokenVerifier
from ledger.infrastructure.settings import Settings
from server.console import (
    approvals,
    audit,
    grants,
    imports,
    journal,
    oidc,
    overview,
    reconciliation,
    record,
    schools,
    signin,
)
from server.console.client import ApiRefused
from server.console.config import ConsoleConfig, OidcSettings
from server.console.gate import ConsoleGate
from server.console.render import error_page, page
from server.console.session import PREFIX

STATIC = Path(__file__).parent / "static"

ROUTERS: tuple[APIRouter, ...] = (
    signin.router,
    oidc.router,
    overview.router,
    schools.router,
    grants.router,
    record.router,
    imports.router,
    reconciliation.router,
    approvals.router,
    journal.router,
    audit.router,
)


def mount(app: FastAPI) -> None:
    """The console's routes and assets (before the access guards check every route)."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")


def install(app: FastAPI, settings: Settings, verifier: TokenVerifier) -> None:
    """The session gate, outside the API's guards so they see the session's token."""
    app.state.console = ConsoleConfig(
        production=settings.env == "production",
        keys=verifier.keys,
        verifier=verifier,
        zone=settings.timezone,
        oidc=OidcSettings(),
    )
    app.add_exception_handler(ApiRefused, _refused)
    app.add_middleware(
        ConsoleGate,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.import_max_bytes,
        error_page=error_page,
        secure=settings.env == "production",
    )


async def _refused(request: Request, exc: Exception) -> Response:
    """A read the page needed was refused (an unknown school, a role the page lacks)."""
    assert isinstance(exc, ApiRefused)
    problem = exc.problem
    return page(request, "error.html", problem.status, title=problem.title, detail=problem.detail)
