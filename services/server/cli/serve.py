"""``ledger serve`` and ``ledger demo``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from server.cli.options import DatabaseUrl, settings_for

if TYPE_CHECKING:
    from ledger.infrastructure.settings import Settings

# The app factory uvicorn imports in each worker.
APP_FACTORY = "server.app:create_served_app"


def serve(
    database_url: DatabaseUrl = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    demo: Annotated[bool, typer.Option(help="Load the demo dataset first (idempotent).")] = False,
    projections: Annotated[
        bool,
        typer.Option(help="Follow the log in-process; off when `ledger projections run` does."),
    ] = True,
) -> None:
    """Run the HTTP API."""
    # Here, not at the top: every other command would pay for importing the server.
    import uvicorn

    from server.cli import token
    from server.http_guard import PROTOCOL

    os.environ["LEDGER_RUN_PROJECTIONS"] = "true" if projections else "false"
    settings = settings_for(database_url, export=True)
    token.check_keys(settings)
    if demo:
        load_demo_data(settings)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics to files here; /metrics sums them, so a scrape
        # sees the whole server whichever worker answers. Fresh per start: counters reset.
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ledger-metrics-")
    typer.echo(f"ledger: serving on http://{host}:{port} (store: {settings.database_url})")
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        # httptools with header-size and header/body read bounds (server.http_guard).
        http=PROTOCOL,
        timeout_keep_alive=int(settings.http_keep_alive_seconds),
    )


def demo(database_url: DatabaseUrl = None) -> None:
    """Load the demo dataset: donors, 186 hub schools, grants, tranches, costs, in kind."""
    load_demo_data(settings_for(database_url, export=True))


def load_demo_data(settings: Settings) -> None:
    from rich.progress import Progress

    from server.bootstrap import build_ledger
    from server.demo import demo_commands, load_demo

    # History approved outside the system: its tranches post at once.
    ledger = build_ledger(settings, approvals=False)
    try:
        with Progress() as progress:
            task = progress.add_task("loading demo data", total=len(demo_commands()))
            summary = load_demo(ledger, progress=lambda n: progress.advance(task, n))
        typer.echo(f"demo: {summary}")
    finally:
        ledger.close()
