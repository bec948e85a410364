"""Recording forms: typed amounts to minor units, one idempotency key per form, problems shown.

A form is rendered with a fresh idempotency key in a hidden field; a double click posts the
same key twice and the API records once (the second answer is the first one replayed). After
a refusal nothing was recorded, so the form comes back with a new key; after "outcome
unknown" it keeps its key, so sending it again can only record once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from server.console import i18n
from server.console.client import Api, Problem
from server.console.render import language_of

KEY_FIELD = "idempotency_key"
# Refusals that are about one field although the API names none.
FIELD_OF_CODE = {
    "exceeds-undisbursed-commitment": "amount",
    "exceeds-cash-on-hand": "amount",
    "invalid-amount": "amount",
    "period-closed": "value_date",
    "currency-mismatch": "amount",
}


def new_key() -> str:
    return f"console-{uuid.uuid4().hex}"


@dataclass
class FormState:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problem: Problem | None = None
    key: str = field(default_factory=new_key)


def text(form: dict[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def optional(form: dict[str, Any], name: str) -> str | None:
    return text(form, name) or None


def amounts(
    request: Request, form: dict[str, Any], names: tuple[str, ...], currency: str
) -> tuple[dict[str, int], dict[str, str]]:
    """The typed amounts in minor units, and a message for each that is not an amount."""
    language = language_of(request)
    translate = i18n.translations(language).gettext
    example = i18n.number(100_000_050, currency, language)
    found: dict[str, int] = {}
    errors: dict[str, str] = {}
    for name in names:
        minor = i18n.parse_amount(text(form, name), currency, language)
        if minor is None:
            errors[name] = translate("Enter an amount such as %(example)s") % {"example": example}
        else:
            found[name] = minor
    return found, errors


async def submit(
    request: Request,
    path: str,
    body: dict[str, Any],
    form: dict[str, Any],
    then: Callable[[dict[str, Any]], str],
) -> Response | FormState:
    """Send the recording request; on success the page to go to, else the form again."""
    key = text(form, KEY_FIELD)
    answer = await Api(request).post(path, body, key=key or None)
    if answer.status < 300:
        return RedirectResponse(then(answer.body or {}), status_code=303)
    problem = Problem.from_body(answer.status, answer.body)
    errors = dict(problem.fields)
    if problem.code in FIELD_OF_CODE and not errors:
        errors[FIELD_OF_CODE[problem.code]] = problem.detail
    # Nothing was recorded after a refusal; an unknown outcome must be retried as it was.
    kept = key if answer.status == 503 and key else new_key()
    return FormState(values=form, errors=errors, problem=problem, key=kept)
