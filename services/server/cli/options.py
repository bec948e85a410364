"""What every command shares: the one ``--database-url`` option, ``--json``, and settings."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    # Imported where used: settings pull in pydantic-settings, a tenth of a second a
    # command like ``ledger replay`` would otherwise pay before doing anything.
    from ledger.infrastructure.settings import Settings

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Event store: sqlite:///path (default var/ledger.sqlite3), "
        "postgresql://user@host/db[?schema=s], or memory://. "
        "Read models live beside it.",
        envvar="LEDGER_DATABASE_URL",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def settings_for(database_url: str | None, *, export: bool = False) -> Settings:
    """Settings from the environment, with ``--database-url`` over ``LEDGER_DATABASE_URL``.

    ``export`` also writes it to the environment, so processes started from this one
    (uvicorn's workers) build the same settings.
    """
    from ledger.infrastructure.settings import Settings

    if database_url and export:
        os.environ["LEDGER_DATABASE_URL"] = database_url
    return Settings(database_url=database_url) if database_url else Settings()
