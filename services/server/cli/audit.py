"""``ledger audit …`` and ``ledger replay``: the auditor's commands."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict
from typing import Annotated, Any

import typer

from server.cli.options import AsJson, DatabaseUrl, settings_for

audit_app = typer.Typer(help="Tamper evidence: the chain digest and its verification.")

DIGEST = re.compile(r"^(\d{1,15}):([0-9a-f]{64})$")


@audit_app.command("digest")
def digest(database_url: DatabaseUrl = None, as_json: AsJson = False) -> None:
    """Print the chain head (position and hash) to keep outside the system."""
    from projections.audit.chain import ALGORITHM
    from projections.audit.chainer import head
    from server.bootstrap import build_read_store

    store = build_read_store(settings_for(database_url))
    try:
        with store.engine.connect() as conn:
            position, value = head(conn)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps({"algorithm": ALGORITHM, "position": position, "hash": value.hex()}))
    else:
        typer.echo(f"{position}:{value.hex()}")


@audit_app.command("verify")
def verify(
    database_url: DatabaseUrl = None,
    digest: Annotated[
        str | None,
        typer.Option(help="An earlier digest, POSITION:HASH (from `ledger audit digest`)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Recompute the chain from the raw stored events; exit 1 where history differs."""
    from projections.audit.verify import Digest, verify_chain

    given = None
    if digest is not None:
        match = DIGEST.match(digest.strip())
        if match is None:
            typer.echo("--digest must be POSITION:HASH (64 lower-case hex digits)", err=True)
            raise typer.Exit(2)
        given = Digest(int(match.group(1)), match.group(2))
    from server.bootstrap import build_ledger, build_read_store

    settings = settings_for(database_url)
    # The log is read page after page: one connection, not the serving pool's ten.
    ledger, store = build_ledger(settings, pool_size=1), build_read_store(settings)
    try:
        report = verify_chain(ledger.event_log, store.engine, given)
    finally:
        store.close()
        ledger.close()
    if as_json:
        typer.echo(json.dumps(asdict(report)))
    else:
        typer.echo(
            f"checked {report.events_checked} events through position {report.checked_through}; "
            f"head {report.head.position}:{report.head.hash}"
        )
        if report.first_difference is not None:
            d = report.first_difference
            typer.echo(f"FIRST DIFFERENCE at position {d.position}: {d.detail}")
        for note in report.notes:
            typer.echo(note)
        typer.echo("audit: OK" if report.ok else "audit: FAILED")
    if not report.ok:
        raise typer.Exit(1)


# Also with fractions of a second: the moments the API reports (recorded_at) paste as they are.
MOMENT_FORMATS = [
    "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d",
]  # fmt: skip


def replay(
    database_url: DatabaseUrl = None,
    until_position: Annotated[
        int | None, typer.Option(min=0, help="Apply events up to and including this position.")
    ] = None,
    known_at: Annotated[
        dt.datetime | None,
        typer.Option(
            "--known-at",
            "--until-time",
            formats=MOMENT_FORMATS,
            help="Apply events recorded at or before this moment (UTC if no offset): what "
            "the ledger showed then. --until-time is the older name.",
        ),
    ] = None,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="Apply entries with a value date on or before this day (YYYY-MM-DD): what "
            "was true then. Combines with --known-at.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Balances as they were at a point, replayed from the raw log (no live read model used)."""
    from projections.replay import replay_balances

    if known_at is not None and known_at.tzinfo is None:
        known_at = known_at.replace(tzinfo=dt.UTC)
    day = as_of.date() if as_of is not None else None
    from server.bootstrap import build_ledger

    # One connection: the replay reads page after page. The default pool opens ten at
    # start, which cost the database more than the replay's own reads.
    ledger = build_ledger(settings_for(database_url), pool_size=1)
    try:
        result = replay_balances(
            ledger.event_log, until_position=until_position, until_time=known_at, as_of=day
        )
    finally:
        ledger.close()
    if not result.accounts:
        typer.echo(f"replay: no balances at this cut ({_cut(until_position, known_at, day)}); "
                   "nothing recorded and dated by then moved money", err=True)  # fmt: skip
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    _print_table(result)


def _cut(position: int | None, known_at: dt.datetime | None, as_of: dt.date | None) -> str:
    parts = [f"position {position}"] if position is not None else []
    parts += [f"known at {known_at.isoformat()}"] if known_at is not None else []
    parts += [f"as of {as_of.isoformat()}"] if as_of is not None else []
    return ", ".join(parts) or "the whole log"


def _print_table(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from projections.exports.money import display_amount

    title = f"Balances replayed through position {result.position}"
    if result.as_of is not None:
        title += f", as of {result.as_of.isoformat()}"
    table = Table(title=title)
    table.add_column("account", no_wrap=True)
    table.add_column("currency")
    table.add_column("balance (major units, debit +)", justify="right")
    rows = [(r.account, r.currency, display_amount(r.balance, r.currency)) for r in result.accounts]
    for row in rows:
        table.add_row(*row)
    console = Console()
    if not console.is_terminal:
        # Into a file or a pipe: as wide as the longest row, never cut at 80 columns.
        widest = max((sum(len(c) for c in r) for r in rows), default=0)
        console = Console(width=max(80, widest + 40))
    console.print(table)
    for t in result.totals:
        d, c, n = (display_amount(v, t.currency) for v in (t.debits, t.credits, t.net))
        typer.echo(f"{t.currency}: debits {d} credits {c} net {n}")
