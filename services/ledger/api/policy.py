"""Who may call what: the one authorization table, deny by default.

Each row is (HTTP method, route template) -> the roles allowed; a caller needs at least
one of them. ``PUBLIC`` rows need no token (probes, API documentation). A route without a
row is refused at request time, and ``create_app`` refuses to start while any route
lacks one, so a new route cannot ship unguarded. HEAD is checked as GET.

Roles (a token may hold several):
  officer   records (every recording POST) and reads what it records
  approver  approves/rejects pending disbursements, closes periods; reads like an officer
  auditor   reads everything (journal, grants, balances, events, history, exports, verify);
            records nothing
  viewer    balances, registry look-ups and lists and projection status only: no journal, no
            entry-level detail (grant entries, events, history, exports)
  metrics   scrapes /metrics (unless LEDGER_METRICS_PUBLIC=true makes it public)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi import routing as fastapi_routing

PUBLIC = frozenset({"public"})  # a pseudo-role: no token needed

RECORD = frozenset({"officer"})
APPROVE = frozenset({"approver"})
READ_DETAIL = frozenset({"officer", "approver", "auditor"})
READ_SUMMARY = READ_DETAIL | {"viewer"}
AUDIT = frozenset({"auditor"})
SCRAPE = frozenset({"metrics"})

Rule = frozenset[str]

POLICY: dict[tuple[str, str], Rule] = {
    # -- probes and API documentation ----------------------------------------------
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/docs/static"): PUBLIC,  # the docs pages' own scripts and styles
    ("GET", "/metrics"): SCRAPE,
    # -- registry ------------------------------------------------------------------
    ("POST", "/v1/donors"): RECORD,
    ("POST", "/v1/programmes"): RECORD,
    ("POST", "/v1/schools"): RECORD,
    ("GET", "/v1/donors/{code}"): READ_SUMMARY,
    ("GET", "/v1/programmes/{code}"): READ_SUMMARY,
    ("GET", "/v1/schools/{code}"): READ_SUMMARY,
    ("GET", "/v1/schools/{code}/account"): READ_SUMMARY,
    ("GET", "/v1/donors"): READ_SUMMARY,
    ("GET", "/v1/programmes"): READ_SUMMARY,
    ("GET", "/v1/schools"): READ_SUMMARY,
    ("GET", "/v1/regions"): READ_SUMMARY,
    # -- bank accounts and imports ------------------------------------------------------
    ("POST", "/v1/schools/{code}/bank-accounts"): RECORD,
    ("POST", "/v1/donors/{code}/bank-accounts"): RECORD,
    ("POST", "/v1/schools/{code}/bank-accounts/{iik}/changes"): RECORD,
    ("POST", "/v1/donors/{code}/bank-accounts/{iik}/changes"): RECORD,
    ("POST", "/v1/schools/{code}/bank-accounts/{iik}/closure"): RECORD,
    ("POST", "/v1/donors/{code}/bank-accounts/{iik}/closure"): RECORD,
    ("GET", "/v1/schools/{code}/bank-accounts"): READ_DETAIL,
    ("GET", "/v1/donors/{code}/bank-accounts"): READ_DETAIL,
    ("GET", "/v1/imports/templates/{template}"): READ_SUMMARY,
    ("POST", "/v1/imports"): RECORD,
    ("GET", "/v1/reconciliation"): READ_DETAIL,
    ("GET", "/v1/reconciliation.csv"): READ_DETAIL,
    ("GET", "/v1/reconciliation.xlsx"): READ_DETAIL,
    ("POST", "/v1/reconciliation/explanations"): RECORD,
    # -- recording financial entries -----------------------------------------------
    ("POST", "/v1/grants"): RECORD,
    # Each item is authorized again by its own route's row.
    ("POST", "/v1/batches"): RECORD | APPROVE,
    ("POST", "/v1/grants/{grant_id}/disbursements"): RECORD,
    ("POST", "/v1/grants/{grant_id}/reductions"): RECORD,
    ("POST", "/v1/grants/{grant_id}/cancellation"): RECORD,
    ("POST", "/v1/schools/{code}/expenditures"): RECORD,
    ("POST", "/v1/operating-costs"): RECORD,
    ("POST", "/v1/in-kind-contributions"): RECORD,
    ("POST", "/v1/entries/{entry_id}/reversal"): RECORD,
    ("GET", "/v1/grants/{grant_id}"): READ_DETAIL,
    # Per-grant figures are entry-level detail, as the grant itself is.
    ("GET", "/v1/grants"): READ_DETAIL,
    # -- read side: balances and the journal ----------------------------------------
    ("GET", "/v1/balances/accounts"): READ_SUMMARY,
    ("GET", "/v1/balances/trial-balance"): READ_SUMMARY,
    ("GET", "/v1/balances/schools/{code}"): READ_SUMMARY,
    ("GET", "/v1/balances/donors/{code}"): READ_SUMMARY,
    ("GET", "/v1/balances/regions"): READ_SUMMARY,
    ("GET", "/v1/balances/programmes"): READ_SUMMARY,
    ("GET", "/v1/journal"): READ_DETAIL,
    ("GET", "/v1/projections/status"): READ_SUMMARY,
    ("GET", "/v1/currencies"): READ_SUMMARY,
    # -- four eyes and fiscal periods ---------------------------------------------------
    ("POST", "/v1/approvals/{entry_id}/approve"): APPROVE,
    ("POST", "/v1/approvals/{entry_id}/reject"): APPROVE,
    ("GET", "/v1/approvals/pending"): APPROVE | AUDIT | RECORD,
    ("POST", "/v1/periods/{period}/close"): APPROVE,
    ("POST", "/v1/periods/{period}/reopen"): APPROVE,
    ("GET", "/v1/periods"): READ_SUMMARY,
    # -- auditors: the event feed, history, tamper evidence, exports -------------------
    ("GET", "/v1/events"): AUDIT,
    ("GET", "/v1/events/stream"): AUDIT,
    ("GET", "/v1/history/{kind}/{ref}"): AUDIT,
    ("GET", "/v1/audit/digest"): AUDIT,
    ("POST", "/v1/audit/verify"): AUDIT,
    ("GET", "/v1/exports/journal"): AUDIT,
    ("GET", "/v1/exports/journal.csv"): AUDIT,
    ("GET", "/v1/exports/schools.csv"): AUDIT,
    ("GET", "/v1/exports/donors.csv"): AUDIT,
    ("GET", "/v1/exports/iati"): AUDIT,
    ("GET", "/v1/exports/360giving"): AUDIT,
    # -- the web console (its session cookie carries the same tokens) -------------------
    # Each page asks the API for what it shows with the person's token, so these rows
    # decide which pages a role is offered; the API's own rows still decide every call.
    ("GET", "/console"): READ_SUMMARY,  # on to the overview
    ("GET", "/console/static"): PUBLIC,
    ("GET", "/console/sign-in"): PUBLIC,
    ("POST", "/console/sign-in"): PUBLIC,  # development only; refused in production
    ("POST", "/console/sign-out"): PUBLIC,
    ("GET", "/console/language/{code}"): PUBLIC,
    ("GET", "/console/oidc/start"): PUBLIC,
    ("GET", "/console/oidc/callback"): PUBLIC,
    ("GET", "/console/"): READ_SUMMARY,
    ("GET", "/console/schools"): READ_SUMMARY,
    ("GET", "/console/schools/{code}"): READ_SUMMARY,
    ("POST", "/console/schools/{code}/expenditures"): RECORD,
    ("GET", "/console/grants"): READ_DETAIL,
    ("GET", "/console/grants/{grant_id}"): READ_DETAIL,
    ("POST", "/console/grants/{grant_id}/disbursements"): RECORD,
    ("GET", "/console/record"): RECORD,
    ("POST", "/console/record/operating-costs"): RECORD,
    ("POST", "/console/record/in-kind"): RECORD,
    ("GET", "/console/approvals"): APPROVE | AUDIT | RECORD,
    ("POST", "/console/approvals/{entry_id}"): APPROVE,
    ("GET", "/console/journal"): READ_DETAIL,
    ("GET", "/console/journal/{position}"): READ_DETAIL,
    ("POST", "/console/journal/{position}/reversal"): RECORD,
    ("GET", "/console/audit"): AUDIT,
    ("POST", "/console/audit/verify"): AUDIT,
    ("GET", "/console/exports/{name}"): AUDIT,
    ("GET", "/console/imports"): RECORD,
    ("GET", "/console/imports/templates/{template}"): RECORD,
    ("POST", "/console/imports"): RECORD,
    ("POST", "/console/imports/confirm"): RECORD,
    ("GET", "/console/reconciliation"): READ_DETAIL,
    ("GET", "/console/reconciliation.{ext}"): READ_DETAIL,
    ("POST", "/console/reconciliation/explanations"): RECORD,
}


def effective(metrics_public: bool) -> dict[tuple[str, str], Rule]:
    """The table as configured: /metrics may be made public for an in-cluster scraper."""
    table = dict(POLICY)
    if metrics_public:
        table["GET", "/metrics"] = PUBLIC
    return table


def flat_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every endpoint route, also those inside included routers.

    Newer FastAPI keeps an included router as one lazy entry of ``app.routes``; its
    ``iter_route_contexts`` unfolds them (each with path, path_regex and methods).
    """
    unfold = getattr(fastapi_routing, "iter_route_contexts", None)
    if unfold is None:
        yield from routes
    else:
        yield from unfold(list(routes))


def route_keys(routes: Iterable[Any]) -> list[tuple[str, str]]:
    """(method, template) of every HTTP route; HEAD rides on GET."""
    keys: list[tuple[str, str]] = []
    for route in flat_routes(routes):
        methods = getattr(route, "methods", None)
        path = getattr(route, "path", None)
        if methods is None or path is None:
            continue
        keys.extend((m, path) for m in sorted(methods) if m != "HEAD")
    return keys


def uncovered(routes: Iterable[Any], table: dict[tuple[str, str], Rule]) -> list[str]:
    return [f"{m} {p}" for m, p in route_keys(routes) if (m, p) not in table]


def require_complete(app: FastAPI, table: dict[tuple[str, str], Rule]) -> None:
    """Refuse to build an app with a route nobody decided access for."""
    missing = uncovered(app.routes, table)
    if missing:
        msg = "no access rule in ledger.api.policy for: " + ", ".join(missing)
        raise RuntimeError(msg)


def _problem(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {"application/problem+json": {"schema": schema}}}


# Answered by the request guards before any route runs, so no route declares them.
_BODY_PROBLEMS = {
    "400": "Malformed JSON, a repeated Content-Type, or a missing/invalid Idempotency-Key",
    "413": "The body is larger than the server accepts",
    "415": "The body is not application/json",
}


def _problem_media(operation: dict[str, Any], method: str) -> None:
    """Every error answer is application/problem+json, the guards' statuses included."""
    responses = operation.setdefault("responses", {})
    for status, response in responses.items():
        if status[:1] in ("4", "5") and "content" in response:
            schema = {"$ref": "#/components/schemas/Problem"}
            response["content"] = {"application/problem+json": {"schema": schema}}
    if method.upper() in ("POST", "PUT", "PATCH"):
        for status, description in _BODY_PROBLEMS.items():
            responses.setdefault(status, _problem(description))
    responses.setdefault(
        "503", _problem("The store, the identity provider or the read models are not available")
    )


def document(app: FastAPI, table: dict[tuple[str, str], Rule]) -> None:
    """Show the bearer scheme and each operation's roles in the OpenAPI document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["bearer"] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                _problem_media(operation, method)
                rule = table.get((method.upper(), path))
                if rule is None or rule is PUBLIC:
                    continue
                operation["security"] = [{"bearer": []}]
                operation["x-roles"] = sorted(rule)
                responses = operation.setdefault("responses", {})
                responses.setdefault("400", _problem("A query parameter this route does not take"))
                responses.setdefault("401", _problem("Missing, invalid or expired bearer token"))
                responses.setdefault("403", _problem("The token lacks a role this needs"))
                roles = ", ".join(sorted(rule))
                operation["description"] = (
                    operation.get("description", "") + f"\n\nRoles: {roles}."
                ).strip()
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
