"""The ``ledger`` command: serve the API, load the demo dataset."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from ledger.infrastructure.settings import Settings

app = typer.Typer(help="Grant ledger for the hub-school programme.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="sqlite:///path (default var/ledger.sqlite3), postgresql://user@host/db, memory://",
        envvar="LEDGER_DATABASE_URL",
    ),
]


def _settings(database_url: str | None) -> Settings:
    if database_url:
        # Exported so uvicorn's worker processes build the same settings.
        os.environ["LEDGER_DATABASE_URL"] = database_url
    return Settings()


@app.command()
def serve(
    database_url: DatabaseUrl = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    demo: Annotated[bool, typer.Option(help="Load the demo dataset first (idempotent).")] = False,
) -> None:
    """Run the HTTP API."""
    settings = _settings(database_url)
    if demo:
        _load_demo(settings)
    typer.echo(f"ledger: serving on http://{host}:{port} (store: {settings.database_url})")
    uvicorn.run(
        "ledger.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


@app.command()
def demo(database_url: DatabaseUrl = None) -> None:
    """Load the demo dataset: donors, 186 hub schools, grants, tranches, costs, in kind."""
    _load_demo(_settings(database_url))


def _load_demo(settings: Settings) -> None:
    from rich.progress import Progress

    from ledger.application.app import LedgerApplication
    from ledger.demo import demo_commands, load_demo
    from ledger.infrastructure.settings import eventsourcing_env

    ledger = LedgerApplication(eventsourcing_env(settings.database_url, settings.pool_size))
    try:
        with Progress() as progress:
            task = progress.add_task("loading demo data", total=len(demo_commands()))
            summary = load_demo(ledger, progress=lambda n: progress.advance(task, n))
        typer.echo(f"demo: {summary}")
    finally:
        ledger.close()


if __name__ == "__main__":
    app()
