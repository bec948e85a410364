"""Token key material: where it comes from, what production insists on, local minting.

Two sources, usable together: an HS256 shared secret (small deployments, and the embedded
default, which creates one under its data folder on first start) and the JWKS document of
an OpenID Connect provider (RS256/ES256, production).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jwt

from ledger.infrastructure.settings import Settings

LOCAL_ISSUER = "grant-ledger"
LOCAL_AUDIENCE = "grant-ledger"
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_BYTES = 32


class KeyMaterialError(RuntimeError):
    """The service must not start with this configuration."""


@dataclass(frozen=True)
class KeyMaterial:
    secret: bytes | None
    jwks_url: str | None
    issuer: str
    audience: str
    leeway_seconds: int
    secret_path: Path | None = None
    # Verification only: the secret being rotated out (LEDGER_JWT_PREVIOUS_SECRET).
    previous_secret: bytes | None = None
    # A token whose exp lies further ahead than this is refused (LEDGER_JWT_MAX_LIFETIME_SECONDS).
    max_lifetime_seconds: int = 31 * 86400


def data_folder(database_url: str) -> Path:
    """The folder beside the embedded SQLite file; ``var`` for other stores."""
    parts = urlsplit(database_url)
    if parts.scheme.split("+", 1)[0] == "sqlite":
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if path and path != ":memory:":
            return Path(path).parent
    return Path("var")


def local_secret_path(settings: Settings) -> Path:
    return settings.jwt_secret_file or data_folder(settings.database_url) / "jwt-secret"


def load_key_material(
    settings: Settings, *, announce: Callable[[str], None] | None = None
) -> KeyMaterial:
    """Key material for verifying (and locally minting) tokens, or KeyMaterialError.

    Production never invents a secret: a forgotten setting must stop the service rather
    than leave it signing with a key nobody configured.
    """
    production = settings.env == "production"
    secret: bytes | None = None
    path: Path | None = None
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value().encode()
    elif settings.jwt_secret_file is not None and settings.jwt_secret_file.exists():
        path = settings.jwt_secret_file
        secret = path.read_bytes().strip()
    elif settings.jwt_secret_file is not None and production:
        msg = f"LEDGER_JWT_SECRET_FILE {settings.jwt_secret_file} does not exist"
        raise KeyMaterialError(msg)
    if production:
        _check_production(settings, secret)
    elif secret is None and settings.jwks_url is None:
        path = local_secret_path(settings)
        secret = _local_secret(path, announce)
    if secret is not None and len(secret) < MIN_SECRET_BYTES:
        msg = f"the HS256 secret is too short (at least {MIN_SECRET_BYTES} bytes)"
        raise KeyMaterialError(msg)
    previous = None
    if settings.jwt_previous_secret is not None:
        previous = settings.jwt_previous_secret.get_secret_value().encode()
        if secret is None or len(previous) < MIN_SECRET_BYTES:
            msg = (
                "LEDGER_JWT_PREVIOUS_SECRET needs a current HS256 secret beside it and "
                f"{MIN_SECRET_BYTES}+ bytes itself"
            )
            raise KeyMaterialError(msg)
    return KeyMaterial(
        secret=secret,
        jwks_url=settings.jwks_url,
        issuer=settings.jwt_issuer or LOCAL_ISSUER,
        audience=settings.jwt_audience or LOCAL_AUDIENCE,
        leeway_seconds=settings.jwt_leeway_seconds,
        secret_path=path,
        previous_secret=previous,
        max_lifetime_seconds=settings.jwt_max_lifetime_seconds,
    )


def _check_production(settings: Settings, secret: bytes | None) -> None:
    if settings.jwks_url is not None and not (settings.jwt_issuer and settings.jwt_audience):
        msg = "LEDGER_JWKS_URL needs LEDGER_JWT_ISSUER and LEDGER_JWT_AUDIENCE in production"
        raise KeyMaterialError(msg)
    if secret is None and settings.jwks_url is None:
        msg = (
            "LEDGER_ENV=production needs key material: LEDGER_JWKS_URL (+ LEDGER_JWT_ISSUER, "
            f"LEDGER_JWT_AUDIENCE) or LEDGER_JWT_SECRET / _FILE of {MIN_SECRET_BYTES}+ bytes"
        )
        raise KeyMaterialError(msg)


def _local_secret(path: Path, announce: Callable[[str], None] | None) -> bytes:
    """Read the local secret, creating it (mode 0600) if this is the first start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: several workers starting at once agree on one secret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    value = secrets.token_urlsafe(48).encode()
    with os.fdopen(fd, "wb") as f:
        f.write(value + b"\n")
    if announce is not None:
        announce(
            f"ledger: created a local token-signing secret at {path} (keep it private).\n"
            "ledger: mint a bearer token with: ledger token --role officer --sub alice"
        )
    return value


def mint_token(
    keys: KeyMaterial,
    subject: str,
    roles: Sequence[str],
    ttl: dt.timedelta,
    *,
    now: dt.datetime | None = None,
) -> str:
    """An HS256 bearer token for ``subject`` holding ``roles``."""
    if keys.secret is None:
        msg = "no HS256 secret configured: tokens come from the identity provider (JWKS)"
        raise KeyMaterialError(msg)
    issued = now or dt.datetime.now(dt.UTC)
    claims = {
        "iss": keys.issuer,
        "aud": keys.audience,
        "sub": subject,
        "roles": list(roles),
        "iat": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, keys.secret, algorithm="HS256")
