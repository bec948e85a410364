"""``ledger audit …`` and ``ledger replay``: the auditor's commands."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict
from typing import Annotated

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
    ledger, store = build_ledger(settings), build_read_store(settings)
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


def replay(
    database_url: DatabaseUrl = None,
    until_position: Annotated[
        int | None, typer.Option(min=0, help="Apply events up to and including this position.")
    ] = None,
    until_time: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
            help="Apply events recorded at or before this moment (UTC if no offset).",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Balances as they were at a point, replayed from the raw log (no live read model used)."""
    from projections.replay import replay_balances

    if until_time is not None and until_time.tzinfo is None:
        until_time = until_time.replace(tzinfo=dt.UTC)
    from server.bootstrap import build_ledger

    ledger = build_ledger(settings_for(database_url))
    try:
        result = replay_balances(
            ledger.event_log, until_position=until_position, until_time=until_time
        )
    finally:
        ledger.close()
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    from projections.exports.money import display_amount

    table = Table(title=f"Balances replayed through position {result.position}")
    table.add_column("account")
    table.add_column("currency")
    table.add_column("balance (major units, debit +)", justify="right")
    for row in result.accounts:
        table.add_row(row.account, row.currency, display_amount(row.balance, row.currency))
    Console().print(table)
    for t in result.totals:
        d, c, n = (display_amount(v, t.currency) for v in (t.debits, t.credits, t.net))
        typer.echo(f"{t.currency}: debits {d} credits {c} net {n}")
