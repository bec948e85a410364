"""Enforce the policy table on every request, before the body is read.

Pure ASGI middleware: it matches the request to its route template itself (as the router
will), so one place decides access for every route, including ones that take no
dependencies at all (/metrics, the docs). Requests that match no route pass through to
be answered 404/405 by the router.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from ledger.api import policy
from ledger.api.auth import KeysUnavailable, Principal, TokenVerifier, Unauthenticated
from ledger.api.limits import BodySizeLimit, route_path
from ledger.api.policy import PUBLIC, Rule, flat_routes
from ledger.api.problems import send_problem
from ledger.api.strict_json import StrictJson
from ledger.infrastructure.keys import load_key_material
from ledger.infrastructure.settings import Settings
from ledger.observability.metrics import Metrics

# Routes that take a file upload (multipart/form-data) instead of a JSON body.
UPLOADS = ("/v1/imports",)

# Where the verified caller is left for the routes (deps.principal) and the request log.
PRINCIPAL = "ledger.principal"


def verifier_for(settings: Settings) -> TokenVerifier:
    """Key material checked (production refuses to start without it), verifier ready."""
    return TokenVerifier(load_key_material(settings, announce=print))


def install(app: FastAPI, settings: Settings, verifier: TokenVerifier) -> None:
    """The request guards, innermost first: strict JSON, body limit, access control.

    Access is decided outside the body limit, so no body is read for a refused caller;
    strict JSON runs inside it, so it never buffers more than the limit.
    """
    table = policy.effective(settings.metrics_public)
    policy.require_complete(app, table)
    policy.document(app, table)
    app.add_middleware(StrictJson, uploads=frozenset(UPLOADS))
    # An uploaded file's limit, plus the multipart envelope (headers and boundaries).
    upload_limit = settings.import_max_bytes + 64 * 1024
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        larger={"/v1/batches": settings.max_batch_body_bytes}
        | dict.fromkeys(UPLOADS, upload_limit),
    )
    app.add_middleware(
        AccessControl,
        routes=app.router.routes,
        table=table,
        verifier=verifier,
        metrics=getattr(app.state, "metrics", None),
    )


class AccessControl:
    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Sequence[BaseRoute],
        table: dict[tuple[str, str], Rule],
        verifier: TokenVerifier,
        metrics: Metrics | None = None,
    ) -> None:
        self.app = app
        self.routes = routes
        self.table = table
        self.verifier = verifier
        self.metrics = metrics
        self._flat: list[tuple[Any, Any, Any]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self._route(scope)
        template: Any = getattr(route, "path", None)
        if route is None or not isinstance(template, str):
            await self.app(scope, receive, send)
            return
        # Early, so the request log and metrics name the route even when it is refused
        # here or by the body checks; the router sets the same route again.
        scope.setdefault("route", route)
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        rule = self.table.get((method, template))
        if rule is None:
            self._refused("forbidden")
            await send_problem(
                scope, send, 403, "forbidden", "Forbidden", "no access rule covers this route"
            )
            return
        if rule is PUBLIC:
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is None:
            self._refused("missing_token")
            await _unauthenticated(scope, send, "a bearer token is required", error=None)
            return
        try:
            principal = await self._verify(token)
        except Unauthenticated as e:
            self._refused("invalid_token")
            await _unauthenticated(scope, send, e.detail, error="invalid_token")
            return
        except KeysUnavailable:
            self._refused("keys_unavailable")
            await send_problem(
                scope, send, 503, "keys-unavailable", "Identity provider unavailable",
                "the signing keys could not be fetched; retry later",
            )  # fmt: skip
            return
        scope[PRINCIPAL] = principal
        if not principal.roles & rule:
            self._refused("forbidden")
            await send_problem(
                scope,
                send,
                403,
                "forbidden",
                "Forbidden",
                f"this needs one of the roles: {', '.join(sorted(rule))}",
                headers=[(b"www-authenticate", b'Bearer error="insufficient_scope"')],
            )
            return
        await self.app(scope, receive, send)

    def _refused(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.auth_refusals.labels(reason).inc()

    async def _verify(self, token: str) -> Principal:
        # A token seen before is answered from the cache on the loop: only a first
        # sight that may fetch the provider's keys goes to a worker thread.
        known = self.verifier.cached(token)
        if known is not None:
            return known
        if self.verifier.may_block:
            return await run_in_threadpool(self.verifier.verify, token)
        return self.verifier.verify(token)

    def _route(self, scope: Scope) -> Any:
        # As the router matches: the first route whose pattern and method fit. A path
        # that fits only with another method is left to the router (405).
        path = route_path(scope)
        method = scope["method"]
        if self._flat is None:
            # Unfolded once, at the first request: the routes are fixed by then (the
            # middleware stack itself is only built at the first request).
            self._flat = [
                (regex, getattr(route, "methods", None), route)
                for route in flat_routes(self.routes)
                if (regex := getattr(route, "path_regex", None)) is not None
            ]
        for regex, methods, route in self._flat:
            if regex.match(path) and (methods is None or method in methods):
                return route
        return None


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            header: str = value.decode("latin-1")
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


async def _unauthenticated(scope: Scope, send: Send, detail: str, error: str | None) -> None:
    challenge = 'Bearer realm="grant-ledger"'
    if error is not None:
        challenge += f', error="{error}"'
    await send_problem(
        scope,
        send,
        401,
        "unauthenticated",
        "Authentication required",
        detail,
        headers=[(b"www-authenticate", challenge.encode())],
    )
