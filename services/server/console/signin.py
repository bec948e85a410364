"""Signing in and out, and choosing a language.

Development sign-in mints a token with the embedded default's local HS256 secret, exactly as
``ledger token`` does; it is refused when LEDGER_ENV=production, and needs a local secret.
Whatever the source, the token is verified by the API's own verifier before it becomes a
session, so the console never holds a token the API would not accept.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from ledger.api.auth import ROLES, SUBJECT, Unauthenticated
from ledger.domain.idempotency import is_system_actor
from ledger.infrastructure.keys import mint_token
from server.console import i18n
from server.console.config import config, start_session
from server.console.gate import CSRF_CHECKED
from server.console.i18n import N_
from server.console.render import language_of, page
from server.console.session import (
    NONCE_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    clear_session,
    new_nonce,
    safe_next,
    set_language,
    set_nonce,
)

router = APIRouter(prefix=PREFIX, include_in_schema=False)

Next = Annotated[str | None, Query(max_length=500, description="Console page to go to.")]

DEV_TOKEN_TTL = dt.timedelta(hours=8)
ROLE_NAMES = {
    "officer": N_("Finance officer: records"),
    "approver": N_("Approver: approves or rejects"),
    "auditor": N_("Auditor: reads everything"),
    "viewer": N_("Viewer: balances only"),
}


@router.get("")
async def root() -> RedirectResponse:
    return RedirectResponse(PREFIX + "/", status_code=303)


def _sign_in_page(request: Request, status: int = 200, **values: Any) -> Response:
    cfg = config(request)
    translate = i18n.translations(language_of(request)).gettext
    nonce = request.cookies.get(NONCE_COOKIE)
    fresh = None
    if nonce is None and not request.cookies.get(SESSION_COOKIE):
        # The form's CSRF token needs a cookie to derive from before there is a session.
        fresh = nonce = new_nonce()
        request.cookies[NONCE_COOKIE] = nonce
    response = page(
        request,
        "sign_in.html",
        status=status,
        dev=cfg.dev_sign_in,
        oidc=cfg.oidc_sign_in,
        next=safe_next(values.pop("next", None)),
        role_names=[(r, translate(label)) for r, label in ROLE_NAMES.items()],
        subject=values.pop("subject", ""),
        chosen=values.pop("chosen", ["officer"]),
        **values,
    )
    if fresh is not None:
        set_nonce(response, fresh, secure=cfg.secure_cookies)
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request, next: Next = None) -> Response:
    return _sign_in_page(request, next=next)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    cfg = config(request)
    translate = i18n.translations(language_of(request)).gettext
    if not cfg.dev_sign_in:
        return _sign_in_page(request, 403, error=translate("Development sign-in is off here."))
    form: dict[str, Any] = await request.json()
    if request.scope.get(CSRF_CHECKED) is not True:
        # An old or forged sign-in form: show a fresh one (no one is signed in by it).
        expired = translate("The sign-in form expired; please sign in again.")
        return _sign_in_page(request, 400, error=expired)
    subject = str(form.get("subject", "")).strip()
    chosen = form.get("role", [])
    roles = sorted({chosen} if isinstance(chosen, str) else set(chosen))
    target = str(form.get("next", ""))
    error = None
    if not SUBJECT.match(subject) or is_system_actor(subject):
        error = translate("A user name is 1 to 64 letters, digits or . _ @ -")
    elif not roles or not set(roles) <= set(ROLES):
        error = translate("Choose at least one role.")
    if error is not None:
        return _sign_in_page(request, 422, error=error, subject=subject, chosen=roles, next=target)
    lifetime = min(DEV_TOKEN_TTL, dt.timedelta(seconds=cfg.keys.max_lifetime_seconds))
    token = mint_token(cfg.keys, subject, roles, lifetime)
    response = RedirectResponse(safe_next(target), status_code=303)
    try:
        await start_session(response, cfg, token)
    except Unauthenticated as e:
        return _sign_in_page(request, 401, error=e.detail, subject=subject, chosen=roles)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    response = RedirectResponse(PREFIX + "/sign-in", status_code=303)
    clear_session(response, secure=config(request).secure_cookies)
    return response


@router.get("/language/{code}")
async def choose_language(request: Request, code: str, next: Next = None) -> Response:
    response = RedirectResponse(safe_next(next or PREFIX + "/sign-in"), status_code=303)
    if code in i18n.LANGUAGES:
        set_language(response, code, secure=config(request).secure_cookies)
    return response
