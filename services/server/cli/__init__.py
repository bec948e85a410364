"""The ``ledger`` command: one module per command group, assembled here."""

from __future__ import annotations

from typing import Annotated

import typer

from server.cli import audit, db, export, imports, projections, serve, token

app = typer.Typer(help="Grant ledger for the hub-school programme.", no_args_is_help=True)


def _version(value: bool) -> None:
    if value:
        from ledger import __version__

        typer.echo(f"ledger {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Grant ledger for the hub-school programme."""


app.command()(serve.serve)
app.command()(serve.demo)
app.add_typer(export.export_app, name="export")
app.command("token")(token.token)
app.add_typer(projections.projections_app, name="projections")
app.add_typer(db.db_app, name="db")
app.add_typer(audit.audit_app, name="audit")
app.command("replay")(audit.replay)
app.command("import")(imports.import_file)
app.command("reconcile")(imports.reconcile)
