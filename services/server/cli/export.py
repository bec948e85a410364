"""``ledger export``: the API's exports written to a file or stdout, for auditors' tools.

Reads the read models directly (no server needed). When no projection runner holds
the read store, the pending events are applied first, so an export right after
``ledger demo`` is complete; otherwise the running one keeps them current.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, TextIO

import typer

from server.cli.options import DatabaseUrl, settings_for

export_app = typer.Typer(
    help="Exports: hledger/ledger journal, CSV, IATI XML, 360Giving JSON.", no_args_is_help=True
)

AsOf = Annotated[
    dt.datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="Value-date cut-off (YYYY-MM-DD)."),
]
KnownAt = Annotated[
    dt.datetime | None,
    typer.Option(
        "--known-at",
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        help="Recorded-at cut-off (ISO 8601; UTC if no offset).",
    ),
]
Output = Annotated[
    Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
]


def run_export(
    kind: str, database_url: str | None, as_of: dt.date | None, known_at: dt.datetime | None,
    out: TextIO,
) -> int:  # fmt: skip
    """Write one export to ``out``; returns the log position it reflects."""
    import asyncio

    from projections.exports.routes import PRODUCERS
    from projections.exports.source import snapshot
    from projections.queries import Cut
    from projections.runner import ProjectionRunner
    from server.bootstrap import build_ledger, build_read_store

    settings = settings_for(database_url)
    store = build_read_store(settings)
    # Catching up reads the log with the next page read ahead: two connections.
    ledger = build_ledger(settings, pool_size=2)
    try:
        runner = ProjectionRunner(ledger.event_log, store)
        if runner.leadership.try_acquire():
            try:
                runner.catch_up()
            finally:
                runner.leadership.release()
    finally:
        ledger.close()
    if known_at is not None and known_at.tzinfo is None:
        known_at = known_at.replace(tzinfo=dt.UTC)
    produce, _ = PRODUCERS[kind]

    async def write() -> int:
        try:
            # Pinned to whatever position the read models are at when the snapshot opens.
            async with snapshot(store, sys.maxsize, Cut(as_of, known_at)) as snap:
                async for chunk in produce(snap):
                    out.write(chunk)
                return snap.at
        finally:
            await store.async_engine.dispose()

    try:
        return asyncio.run(write())
    finally:
        store.close()


def _command(kind: str, help_text: str) -> None:
    def command(
        database_url: DatabaseUrl = None,
        as_of: AsOf = None,
        known_at: KnownAt = None,
        output: Output = None,
    ) -> None:
        day = as_of.date() if as_of else None
        if output is None:
            at = run_export(kind, database_url, day, known_at, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as f:
                at = run_export(kind, database_url, day, known_at, f)
        typer.echo(f"export {kind}: log position {at}", err=True)

    export_app.command(kind, help=help_text)(command)


_command("journal", "Every entry as an hledger / ledger-cli journal.")
_command("journal-csv", "The journal as CSV, one row per posting.")
_command("schools-csv", "Per-school balances as CSV.")
_command("donors-csv", "Per-donor balances as CSV.")
_command("iati", "IATI 2.03 activity XML, one activity per programme.")
_command("360giving", "360Giving JSON package of grants.")
