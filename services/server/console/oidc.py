"""Signing in with the organisation's identity provider: OpenID Connect code flow with PKCE.

The provider is the one the API already trusts (``LEDGER_JWT_ISSUER``, keys from
``LEDGER_JWKS_URL``); the console is one more client of it (``LEDGER_CONSOLE_OIDC_CLIENT_ID``).
The access token it hands back must be meant for the API (``aud`` = ``LEDGER_JWT_AUDIENCE``,
in Keycloak an audience mapper on the client): the API's verifier checks it before it becomes
the session, so a person holds in the console exactly the roles the provider gave them.

The state and the PKCE verifier wait in a short-lived cookie scoped to the callback path.
It is SameSite=Lax, as it must come back on the provider's redirect (a cross-site
navigation); the session cookie itself stays Strict, which is why the callback answers with
a page that moves on, not with a redirect (a redirect would still count as cross-site).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from ledger.api.auth import KeysUnavailable, Unauthenticated
from server.console import i18n
from server.console.config import OidcSettings, config, start_session
from server.console.i18n import N_
from server.console.render import language_of, page
from server.console.session import PREFIX, safe_next
from server.console.signin import Next

router = APIRouter(prefix=PREFIX, include_in_schema=False)

FLOW_COOKIE = "ledger_console_oidc"
FLOW_PATH = f"{PREFIX}/oidc"
FLOW_SECONDS = 600
DISCOVERY_SECONDS = 3600
TIMEOUT_SECONDS = 10


_discovered: dict[str, tuple[float, dict[str, Any]]] = {}


async def discovery(url: str) -> dict[str, Any]:
    known = _discovered.get(url)
    if known is not None and time.monotonic() - known[0] < DISCOVERY_SECONDS:
        return known[1]
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
        response = await client.get(url)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    _discovered[url] = (time.monotonic(), document)
    return document


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def challenge_of(verifier: str) -> str:
    """RFC 7636 S256: the challenge sent first, proven later by the verifier."""
    return _b64(hashlib.sha256(verifier.encode()).digest())


def _settings(request: Request) -> tuple[OidcSettings, str]:
    cfg = config(request)
    oidc = cfg.oidc
    if oidc is None or not cfg.oidc_sign_in:
        raise LookupError
    url = oidc.discovery_url or f"{cfg.keys.issuer.rstrip('/')}/.well-known/openid-configuration"
    return oidc, url


def _redirect_url(request: Request, oidc: OidcSettings) -> str:
    return oidc.redirect_url or str(request.url_for("oidc_callback"))


def _refusal(request: Request, status: int, message: str) -> Response:
    translate = i18n.translations(language_of(request)).gettext
    title = translate("Sign-in did not complete")
    return page(request, "error.html", status, title=title, detail=message)


@router.get("/oidc/start")
async def start(request: Request, next: Next = None) -> Response:
    try:
        oidc, url = _settings(request)
        endpoint = str((await discovery(url))["authorization_endpoint"])
    except LookupError:
        return _refusal(request, 404, N_("OpenID Connect is not configured"))
    except (httpx.HTTPError, KeyError, ValueError):
        return _refusal(request, 503, N_("the identity provider did not answer; try again"))
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    params = {
        "response_type": "code",
        "client_id": oidc.client_id,
        "redirect_uri": _redirect_url(request, oidc),
        "scope": oidc.scope,
        "state": state,
        "code_challenge": challenge_of(verifier),
        "code_challenge_method": "S256",
    }
    response = RedirectResponse(f"{endpoint}?{urlencode(params)}", status_code=303)
    flow = {"state": state, "verifier": verifier, "next": safe_next(next)}
    response.set_cookie(
        FLOW_COOKIE,
        _b64(json.dumps(flow).encode()),
        max_age=FLOW_SECONDS,
        path=FLOW_PATH,
        httponly=True,
        secure=config(request).secure_cookies,
        samesite="lax",
    )
    return response


def _flow(request: Request) -> dict[str, str] | None:
    try:
        flow = json.loads(_unb64(request.cookies.get(FLOW_COOKIE, "")))
    except ValueError:
        return None
    if not isinstance(flow, dict) or not all(isinstance(flow.get(k), str) for k in flow):
        return None
    return flow


Param = Annotated[str | None, Query(max_length=4096)]


@router.get("/oidc/callback", name="oidc_callback")
async def callback(
    request: Request,
    code: Param = None,
    state: Param = None,
    error: Param = None,
    error_description: Param = None,
    session_state: Param = None,
    iss: Param = None,
) -> Response:
    """The provider sends the person back here with a code (or an error)."""
    flow = _flow(request)
    if error is not None:
        return _refusal(request, 401, f"{error}: {error_description or ''}")
    if flow is None or not state or not code or not hmac.compare_digest(state, flow["state"]):
        return _refusal(
            request, 400, N_("the sign-in expired or was not started here; start again")
        )
    try:
        oidc, url = _settings(request)
        token_url = str((await discovery(url))["token_endpoint"])
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": _redirect_url(request, oidc),
            "client_id": oidc.client_id or "",
            "code_verifier": flow["verifier"],
        }
        if oidc.client_secret is not None:
            form["client_secret"] = oidc.client_secret.get_secret_value()
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            answer = await client.post(token_url, data=form)
        token = answer.json().get("access_token") if answer.status_code == 200 else None
    except LookupError:
        return _refusal(request, 404, N_("OpenID Connect is not configured"))
    except (httpx.HTTPError, KeyError, ValueError):
        return _refusal(request, 503, N_("the identity provider did not answer; try again"))
    if not isinstance(token, str):
        return _refusal(request, 401, N_("the identity provider refused the code"))
    target = safe_next(flow.get("next"))
    response = page(request, "signed_in.html", target=target)
    try:
        await start_session(response, config(request), token)
    except Unauthenticated as e:
        return _refusal(request, 401, e.detail)
    except KeysUnavailable:
        return _refusal(request, 503, N_("the identity provider's keys could not be fetched"))
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response
