"""``ledger projections run|rebuild|verify``: the read models from the command line."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from server.cli.options import DatabaseUrl, settings_for

projections_app = typer.Typer(help="Read models: follow, rebuild, verify.", no_args_is_help=True)

T = TypeVar("T")


@projections_app.command("run")
def projections_run(database_url: DatabaseUrl = None) -> None:
    """Follow the event log into the read models until interrupted (production mode)."""
    import signal
    import threading

    from server.bootstrap import build

    system = build(settings_for(database_url, export=True), follow=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    system.start()
    typer.echo("projections: following the event log (Ctrl-C to stop)")
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        system.close()


def progress_run(title: str, total: int, work: Callable[[Callable[[int], None]], T]) -> T:
    """Run ``work`` with a progress bar (events done, rate) it advances."""
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


def _with_runner(
    database_url: str | None, title: str, work: Callable[[Any, Any], T], *, quiet: bool = False
) -> T:
    from server.bootstrap import follower

    # A replay reads the log one page ahead on one connection (the next batch is applied
    # meanwhile): two, not the serving pool's ten, each a database process.
    settings = settings_for(database_url, export=True)
    system = follower(settings.model_copy(update={"pool_size": 2}))
    try:
        if quiet:  # machine-read output: no progress bar on stdout
            return work(system.runner, None)
        head = system.ledger.log_head()
        return progress_run(title, head, lambda p: work(system.runner, p))
    finally:
        system.close()


@projections_app.command("rebuild")
def projections_rebuild(database_url: DatabaseUrl = None) -> None:
    """Replay the whole log into fresh tables and switch to them atomically."""
    from projections.rebuild import rebuild

    generation = _with_runner(database_url, "rebuilding", rebuild)
    typer.echo(f"projections: generation {generation} is live")


@projections_app.command("verify")
def projections_verify(
    database_url: DatabaseUrl = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: ok and the differences.")
    ] = False,
) -> None:
    """Replay into scratch tables, compare with the live read models; exit 1 on a difference."""
    from projections.rebuild import verify

    differences = _with_runner(database_url, "replaying", verify, quiet=as_json)
    if as_json:
        typer.echo(json.dumps({"ok": not differences, "differences": differences}))
        raise typer.Exit(1 if differences else 0)
    for line in differences:
        typer.echo(line)
    if differences:
        typer.echo(f"projections: {len(differences)} difference(s) from a replay of the log")
        raise typer.Exit(1)
    typer.echo("projections: live read models equal a replay of the log")
