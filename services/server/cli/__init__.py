"""The ``ledger`` command: one module per command group, assembled here."""

from __future__ import annotations

import typer

from server.cli import audit, db, export, projections, serve, token

app = typer.Typer(help="Grant ledger for the hub-school programme.", no_args_is_help=True)
app.command()(serve.serve)
app.command()(serve.demo)
app.add_typer(export.export_app, name="export")
app.command("token")(token.token)
app.add_typer(projections.projections_app, name="projections")
app.add_typer(db.db_app, name="db")
app.add_typer(audit.audit_app, name="audit")
app.command("replay")(audit.replay)
