"""Pages: one Jinja environment per language, the layout's context, the policy-driven menu."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.types import Scope

from ledger.api.access import PRINCIPAL
from ledger.api.auth import Principal
from ledger.api.policy import POLICY, PUBLIC
from server.console import i18n
from server.console.i18n import N_
from server.console.session import LANGUAGE_COOKIE, PREFIX, csrf_basis, csrf_token

TEMPLATES = Path(__file__).parent / "templates"

# The menu: (path, label); an item shows only to those the policy table lets open it.
MENU = (
    (f"{PREFIX}/", N_("Overview")),
    (f"{PREFIX}/schools", N_("Schools")),
    (f"{PREFIX}/grants", N_("Grants")),
    (f"{PREFIX}/record", N_("Record")),
    (f"{PREFIX}/imports", N_("Imports")),
    (f"{PREFIX}/reconciliation", N_("Reconciliation")),
    (f"{PREFIX}/approvals", N_("Approvals")),
    (f"{PREFIX}/journal", N_("Journal")),
    (f"{PREFIX}/audit", N_("Audit")),
)


def may(principal: Principal | None, method: str, template: str) -> bool:
    """What the API's policy table says about this console route for this person."""
    rule = POLICY.get((method, template))
    if rule is None:
        return False
    if rule is PUBLIC:
        return True
    return principal is not None and bool(principal.roles & rule)


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "svg"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def language_of(request: Request) -> str:
    return i18n.pick_language(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )


def _context(scope: Scope, cookies: dict[str, str], language: str, zone: str) -> dict[str, Any]:
    principal = scope.get(PRINCIPAL)
    user = principal if isinstance(principal, Principal) else None
    basis = csrf_basis(cookies)
    path = scope.get("path", PREFIX + "/")
    query = scope.get("query_string", b"").decode("latin-1")
    translate = i18n.translations(language).gettext
    return {
        "lang": language,
        "languages": i18n.LANGUAGE_NAMES,
        "user": user,
        "roles": sorted(user.roles) if user else [],
        "csrf": csrf_token(basis) if basis else "",
        "here": path + ("?" + query if query else ""),
        "menu": [(p, label) for p, label in MENU if may(user, "GET", p)],
        "may": lambda method, template: may(user, method, template),
        "money": lambda minor, currency: i18n.money(int(minor), currency, language),
        "number": lambda minor, currency: i18n.number(int(minor), currency, language),
        "date": lambda value: i18n.date(value, language),
        "moment": lambda value: i18n.moment(value, language, zone),
        "prefix": PREFIX,
        "region": lambda slug: translate(i18n.REGION_NAMES.get(slug) or slug) if slug else "",
    }


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    language = language_of(request)
    zone = request.app.state.console.zone
    context = _context(request.scope, dict(request.cookies), language, zone)
    context.update(values)
    html = environment(language).get_template(template).render(context)
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


async def error_page(
    scope: Scope, cookies: dict[str, str], status: int, title: str, detail: str
) -> bytes:
    """The page the gate answers with when it (or the API's guards) refuse a request."""
    accept = dict(scope.get("headers", [])).get(b"accept-language", b"").decode("latin-1")
    language = i18n.pick_language(cookies.get(LANGUAGE_COOKIE), accept)
    # An error page shows no recorded times: any zone does.
    context = _context(scope, cookies, language, "UTC")
    context.update(status=status, title=title, detail=detail)
    return environment(language).get_template("error.html").render(context).encode()
