"""``ledger token``: mint a bearer token with the local HS256 secret; key checks for serve."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated

import typer

from server.cli.options import DatabaseUrl, settings_for

if TYPE_CHECKING:
    from ledger.infrastructure.settings import Settings

_TTL = re.compile(r"^(\d{1,7})([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str, max_seconds: int = 366 * 86400) -> dt.timedelta:
    """3600, 90m, 8h, 30d: at most the verifier's maximum token lifetime."""
    match = _TTL.match(text.strip())
    if not match:
        msg = "use seconds or a number with s, m, h or d (e.g. 8h)"
        raise typer.BadParameter(msg)
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not 0 < seconds <= max_seconds:
        msg = f"between 1 second and {max_seconds} seconds (LEDGER_JWT_MAX_LIFETIME_SECONDS)"
        raise typer.BadParameter(msg)
    return dt.timedelta(seconds=seconds)


def check_keys(settings: Settings) -> None:
    """Refuse to serve without key material (production); create the local secret (dev)."""
    from ledger.infrastructure.keys import KeyMaterialError, load_key_material

    try:
        load_key_material(settings, announce=lambda m: typer.echo(m, err=True))
    except KeyMaterialError as e:
        typer.echo(f"ledger: refusing to start: {e}", err=True)
        raise typer.Exit(2) from None


def token(
    role: Annotated[
        list[str],
        # The roles are named when one is refused: listing them here would import the
        # API's auth (and the JWT library) for every command's start-up.
        typer.Option("--role", help="Role to grant (repeatable); an unknown one is refused."),
    ],
    sub: Annotated[str, typer.Option("--sub", help="Subject: who the token is for.")],
    ttl: Annotated[str, typer.Option(help="Lifetime: seconds, or 90m, 8h, 30d.")] = "8h",
    database_url: DatabaseUrl = None,
) -> None:
    """Mint a bearer token signed with the configured (or local) HS256 secret.

    Prints only the token, so it can be captured: TOKEN=$(ledger token --role officer --sub
    alice). Use it as `Authorization: Bearer $TOKEN`.
    """
    from ledger.api.auth import ROLES, SUBJECT
    from ledger.domain.idempotency import is_system_actor
    from ledger.infrastructure.keys import KeyMaterialError, load_key_material, mint_token

    unknown = sorted(set(role) - set(ROLES))
    if unknown:
        msg = f"unknown role(s) {', '.join(unknown)}; choose from {', '.join(ROLES)}"
        raise typer.BadParameter(msg, param_hint="--role")
    if not SUBJECT.match(sub):
        msg = "1..64 of [A-Za-z0-9._@-]"
        raise typer.BadParameter(msg, param_hint="--sub")
    if is_system_actor(sub):
        msg = "subjects system and system-... are reserved for the ledger itself"
        raise typer.BadParameter(msg, param_hint="--sub")
    settings = settings_for(database_url)
    lifetime = parse_ttl(ttl, settings.jwt_max_lifetime_seconds)
    try:
        keys = load_key_material(settings, announce=lambda m: typer.echo(m, err=True))
        typer.echo(mint_token(keys, sub, sorted(set(role)), lifetime))
    except KeyMaterialError as e:
        typer.echo(f"ledger: cannot mint a token: {e}", err=True)
        raise typer.Exit(2) from None
