"""The ``ledger`` command: serve the API, load the demo dataset."""

from __future__ import annotations

import os
import time
from typing import Annotated, Any

import typer
import uvicorn

from ledger import token_cli
from ledger.cli_db import db_app
from ledger.export_cli import export_app
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
    projections: Annotated[
        bool,
        typer.Option(help="Follow the log in-process; off when `ledger projections run` does."),
    ] = True,
) -> None:
    """Run the HTTP API."""
    os.environ["LEDGER_RUN_PROJECTIONS"] = "true" if projections else "false"
    settings = _settings(database_url)
    token_cli.check_keys(settings)
    if demo:
        _load_demo(settings)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics to files here; /metrics sums them, so a scrape
        # sees the whole server whichever worker answers. Fresh per start: counters reset.
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ledger-metrics-")
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


app.add_typer(export_app, name="export")
app.command("token")(token_cli.token)

projections_app = typer.Typer(help="Read models: follow, rebuild, verify.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
app.add_typer(db_app, name="db")


def _runner(settings: Settings) -> Any:
    from ledger.cli_support import open_stores
    from projections.runner import ProjectionRunner

    return ProjectionRunner(*open_stores(settings))


def _close(runner: Any) -> None:
    runner.store.close()
    runner.ledger.close()


@projections_app.command("run")
def projections_run(database_url: DatabaseUrl = None) -> None:
    """Follow the event log into the read models until interrupted (production mode)."""
    import signal
    import threading

    from projections.sweeper import ExpirySweeper

    settings = _settings(database_url)
    runner = _runner(settings)
    sweeper = ExpirySweeper(runner.ledger, runner.store, settings.expiry_sweep_seconds)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    runner.start()
    sweeper.start()
    typer.echo("projections: following the event log (Ctrl-C to stop)")
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sweeper.stop()
        runner.stop()
        _close(runner)


def _progress_run(title: str, total: int, work: Any) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} events/s"),
        TimeElapsedColumn(),
    ) as progress:
        task = progress.add_task(title, total=total, rate="-")

        def advance(n: int) -> None:
            done = progress.tasks[0].completed + n
            rate = done / max(time.perf_counter() - started, 1e-9)
            progress.update(task, advance=n, rate=f"{rate:,.0f}")

        return work(advance)


@projections_app.command("rebuild")
def projections_rebuild(database_url: DatabaseUrl = None) -> None:
    """Replay the whole log into fresh tables and switch to them atomically."""
    from projections.rebuild import rebuild

    runner = _runner(_settings(database_url))
    try:
        head = runner.ledger.log_head()
        generation = _progress_run("rebuilding", head, lambda p: rebuild(runner, p))
        typer.echo(f"projections: generation {generation} is live")
    finally:
        _close(runner)


@projections_app.command("verify")
def projections_verify(database_url: DatabaseUrl = None) -> None:
    """Replay into scratch tables, compare with the live read models; exit 1 on a difference."""
    from projections.rebuild import verify

    runner = _runner(_settings(database_url))
    try:
        head = runner.ledger.log_head()
        differences = _progress_run("replaying", head, lambda p: verify(runner, p))
    finally:
        _close(runner)
    for line in differences:
        typer.echo(line)
    if differences:
        typer.echo(f"projections: {len(differences)} difference(s) from a replay of the log")
        raise typer.Exit(1)
    typer.echo("projections: live read models equal a replay of the log")


from ledger.cli_audit import audit_app, replay  # noqa: E402 - registered after the core commands

app.add_typer(audit_app, name="audit")
app.command("replay")(replay)


if __name__ == "__main__":
    app()
