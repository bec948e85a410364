"""What the console is configured with: fixed when the app is built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Request
from fastapi.responses import Response
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.concurrency import run_in_threadpool

from ledger.api.auth import Principal, TokenVerifier, Unauthenticated
from ledger.infrastructure.keys import KeyMaterial
from server.console.session import set_session

# Browsers keep a cookie of up to 4096 bytes, its name and attributes included.
MAX_COOKIE_TOKEN_CHARS = 3900


class OidcSettings(BaseSettings):
    """The console as an OpenID Connect client (LEDGER_CONSOLE_OIDC_*)."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_CONSOLE_OIDC_", extra="ignore")

    client_id: str | None = Field(
        default=None, description="The console's client id at the provider; unset: no OIDC."
    )
    client_secret: SecretStr | None = Field(
        default=None, description="Client secret, for a confidential client (sent in the body)."
    )
    discovery_url: str | None = Field(
        default=None,
        description="Discovery document; default: <LEDGER_JWT_ISSUER>/.well-known/openid-"
        "configuration.",
    )
    redirect_url: str | None = Field(
        default=None,
        description="Callback URL registered at the provider; default: this server's "
        "/console/oidc/callback as the request names it.",
    )
    scope: str = Field(default="openid", description="Scopes asked for.")


@dataclass(frozen=True)
class ConsoleConfig:
    """What the console needs from the settings, fixed when the app is built."""

    production: bool
    keys: KeyMaterial
    verifier: TokenVerifier
    zone: str
    oidc: OidcSettings | None = None

    @property
    def secure_cookies(self) -> bool:
        return self.production

    @property
    def dev_sign_in(self) -> bool:
        return not self.production and self.keys.secret is not None

    @property
    def oidc_sign_in(self) -> bool:
        return (
            self.oidc is not None
            and self.oidc.client_id is not None
            and (self.keys.jwks_url is not None)
        )


def config(request: Request) -> ConsoleConfig:
    found: ConsoleConfig = request.app.state.console
    return found


async def start_session(response: Response, cfg: ConsoleConfig, token: str) -> Principal:
    """Verify the token as the API will, then keep it in the session cookie."""
    if len(token) > MAX_COOKIE_TOKEN_CHARS:
        # A browser silently drops a larger cookie: say so rather than loop back to sign-in.
        msg = (
            f"the token is {len(token)} characters, more than a browser cookie holds "
            f"({MAX_COOKIE_TOKEN_CHARS}); ask the identity provider's administrator to trim "
            "its claims for this client"
        )
        raise Unauthenticated(msg)
    if cfg.verifier.may_block:
        principal = await run_in_threadpool(cfg.verifier.verify, token)
    else:
        principal = cfg.verifier.verify(token)
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    set_session(response, token, float(claims["exp"]), secure=cfg.secure_cookies)
    return principal
