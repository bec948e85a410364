"""``ledger import FILE``: a bank statement or payment register, checked line by line
(``--dry-run``) or recorded through the batch service, with a progress bar and a summary.

Works on the database directly, as the server would: the same reading, mapping and
recording code (``ledger.api.importing``). Exit code 1 when any line was refused or waits
for a decision.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import uuid
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from server.cli.options import AsJson, DatabaseUrl, settings_for

if TYPE_CHECKING:
    from rich.console import Console

    from contracts.imports import ImportReport
    from contracts.reconciliation import Reconciliation
    from server.bootstrap import System


def _catch_up(system: System) -> None:
    """Apply pending events to the read models unless a running server's runner holds them."""
    runner = system.runner
    if runner is not None and runner.leadership.try_acquire():
        try:
            runner.catch_up()
        finally:
            runner.leadership.release()


Kind = Annotated[
    str | None,
    typer.Option(
        "--kind", help="Register kind (disbursements, expenditures, operating-costs, in-kind); "
        "found from the header when omitted.",
    ),
]  # fmt: skip


def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The file.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Record nothing.")] = False,
    per_row: Annotated[
        bool, typer.Option("--per-row", help="Record each line on its own (default: all or none).")
    ] = False,
    kind: Kind = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who imports (default: the login name).")
    ] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option("--idempotency-key", help="Key of the import run (default: a new one)."),
    ] = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Import a 1CClientBankExchange statement or an XLSX/CSV payment register."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ledger.api import importing
    from ledger.api.auth import Principal
    from ledger.api.import_files import ImportRefused, ImportSettings
    from ledger.api.import_report import report as build_report
    from ledger.application.unit_of_work import Context
    from projections.grant_lookup import open_grants
    from server.bootstrap import follower

    settings = settings_for(database_url)
    console = Console(stderr=True)
    system = follower(settings)
    try:
        _catch_up(system)  # open grants are read from the read models

        def grants(keys: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], list[str]]:
            async def find() -> dict[tuple[str, str, str], list[str]]:
                try:
                    return await open_grants(system.read_side, keys)
                finally:
                    await system.store.async_engine.dispose()

            return asyncio.run(find())

        who = actor or f"cli:{getpass.getuser()}"
        caller = Principal(subject=who, roles=frozenset({"officer"}))
        key = idempotency_key or f"import-{uuid.uuid4().hex}"
        ctx = None if dry_run else Context(actor=who, idempotency_key=key)
        import_settings = ImportSettings(
            settings.import_max_bytes, settings.import_max_rows,
            dict(settings.import_knp_categories),
        )  # fmt: skip
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            console=console, transient=as_json,
        ) as bar:  # fmt: skip
            task = bar.add_task("recording" if ctx else "checking", total=None)
            try:
                outcome = importing.run(
                    system.ledger, caller, ctx, file.name, file.read_bytes(), import_settings,
                    grants, kind=kind, atomic=not per_row,
                    progress=lambda n: bar.advance(task, n),
                )  # fmt: skip
            except ImportRefused as e:
                console.print(f"[red]{e.title}[/red]: {e.detail}")
                raise typer.Exit(1) from None
            bar.update(task, total=outcome.prepared.rows, completed=outcome.prepared.rows)
        report = build_report(
            outcome.prepared, dry_run=ctx is None, atomic=not per_row, recorded=outcome.run
        )
    finally:
        system.close()
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _summary(console, report)
    refused = report.counts.refused + report.counts.needs_decision
    if ctx is not None and outcome.run is None:
        console.print(
            "[red]nothing recorded[/red]: "
            + (
                outcome.refusal
                or f"{len(outcome.blocked)} lines are refused or wait for a decision"
            )
            + " (use --per-row to record the others)"
        )
        raise typer.Exit(1)
    raise typer.Exit(1 if refused else 0)


def _summary(console: Console, report: ImportReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    what = report.kind or f"statement {report.period_start} .. {report.period_end}"
    table = Table(title=f"{report.file_name}: {report.format}, {what}")
    table.add_column("status")
    table.add_column("lines", justify="right")
    for name, value in report.counts.model_dump().items():
        if value or name in ("rows", "recorded"):
            table.add_row(name.replace("_", " "), str(value))
    console.print(table)
    if report.problems:
        for p in report.problems:
            console.print(
                f"[yellow]file[/yellow] line {p.line} {escape(p.field)}: {escape(p.message)}"
            )
    shown = 0
    for line in report.lines:
        if line.status in ("refused", "needs-decision", "not-mapped") and shown < 50:
            shown += 1
            for p in line.problems[:2]:
                text = f"line {line.line} ({line.status}) {p.field}: {p.message}"
                console.print(escape(text))
    if report.import_id:
        console.print(f"import {report.import_id} recorded at log position {report.position}")


def reconcile(
    party: Annotated[str, typer.Option("--party", help="school:<code> or donor:<code>.")],
    start: Annotated[dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day.")],
    end: Annotated[dt.datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day.")],
    tolerance_days: Annotated[
        int, typer.Option("--tolerance-days", help="Days a value date may differ.")
    ] = 3,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """A school's or donor's bank statements against the ledger; exit 1 unless all agree."""
    from rich.console import Console
    from rich.table import Table

    from ledger.domain.errors import DomainError
    from projections import reconciliation
    from server.bank_side import bank_side
    from server.bootstrap import follower

    kind, _, code = party.partition(":")
    if kind not in ("school", "donor") or not code:
        raise typer.BadParameter("school:<code> or donor:<code>", param_hint="--party")
    system = follower(settings_for(database_url))
    try:
        _catch_up(system)

        async def build() -> Reconciliation:
            try:
                return await reconciliation.build(
                    system.read_side, partial(bank_side, system.ledger), kind, code,
                    start.date(), end.date(), tolerance_days=tolerance_days,
                )  # fmt: skip
            finally:
                await system.store.async_engine.dispose()

        try:
            result = asyncio.run(build())
        except DomainError as e:
            typer.echo(e.detail, err=True)
            raise typer.Exit(2) from None
    finally:
        system.close()
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        console = Console()
        table = Table(title=f"{party} {result.start} .. {result.end}: {', '.join(result.accounts)}")
        for column in ("status", "date", "number / reference", "bank", "ledger"):
            table.add_column(column)
        for item in result.items:
            bank, entry = item.bank, item.ledger
            table.add_row(
                item.status,
                str(bank.date if bank else entry.value_date if entry else ""),
                (bank.number if bank else None) or (entry.reference if entry else None) or "",
                f"{bank.direction} {bank.amount}" if bank else "",
                f"{entry.direction} {entry.amount}" if entry else "",
            )
        console.print(table)
        for check in result.balances:
            console.print(
                f"{check.iik} {check.kind} {check.date}: stated {check.stated}, lines "
                f"{check.from_lines}, ledger cash {check.ledger_cash}: "
                + ("agrees" if check.agrees else "DIFFERS")
            )
    c = result.counts
    clean = not (c.amount_differs or c.only_in_bank - c.explained or c.only_in_ledger)
    raise typer.Exit(0 if clean and all(b.agrees for b in result.balances) else 1)
