"""The console's session: the bearer token in a cookie, and the CSRF token derived from it.

The cookie carries the very token the API accepts (HttpOnly, SameSite=Strict, Secure outside
dev), so a person signed in to the console holds exactly the roles the API would grant that
token, for exactly as long. Nothing is kept on the server: any replica can serve any page.

The CSRF token is a hash of the session cookie (or, before sign-in, of a random nonce cookie):
a page on another origin can read neither, so it cannot forge a form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

from starlette.responses import Response

SESSION_COOKIE = "ledger_console"
NONCE_COOKIE = "ledger_console_nonce"
LANGUAGE_COOKIE = "ledger_console_lang"
CSRF_FIELD = "csrf"
PREFIX = "/console"
# A language choice is remembered for a year.
LANGUAGE_MAX_AGE = 366 * 86400


def csrf_basis(cookies: Mapping[str, str]) -> str | None:
    return cookies.get(SESSION_COOKIE) or cookies.get(NONCE_COOKIE)


def csrf_token(basis: str) -> str:
    return hashlib.sha256(b"ledger-console-csrf\x00" + basis.encode()).hexdigest()


def csrf_ok(cookies: Mapping[str, str], sent: str | None) -> bool:
    basis = csrf_basis(cookies)
    if basis is None or not sent:
        return False
    return hmac.compare_digest(csrf_token(basis), sent)


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def set_session(response: Response, token: str, expires: float, *, secure: bool) -> None:
    """The cookie lives exactly as long as the token does."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max(0, int(expires - time.time())),
        path=PREFIX,
        httponly=True,
        secure=secure,
        samesite="strict",
    )
    response.delete_cookie(NONCE_COOKIE, path=PREFIX)


def clear_session(response: Response, *, secure: bool) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path=PREFIX, httponly=True, secure=secure, samesite="strict"
    )


def set_nonce(response: Response, nonce: str, *, secure: bool) -> None:
    response.set_cookie(
        NONCE_COOKIE, nonce, path=PREFIX, httponly=True, secure=secure, samesite="strict"
    )


def set_language(response: Response, language: str, *, secure: bool) -> None:
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=LANGUAGE_MAX_AGE,
        path=PREFIX,
        httponly=True,
        secure=secure,
        samesite="strict",
    )


def safe_next(target: str | None) -> str:
    """Only a console path: never a redirect to another site."""
    unsafe = ("\\", "\r", "\n")
    if target and target.startswith(PREFIX + "/") and not any(c in target for c in unsafe):
        return target
    return PREFIX + "/"
