"""Every error as RFC 9457 application/problem+json, with a stable type per cause."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from eventsourcing.persistence import OperationalError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send

from contracts.problems import PROBLEM_TYPE_PREFIX
from ledger.application.committer import CommitNotStarted, CommitOutcomeUnknown
from ledger.domain.errors import AlreadyExists, DomainError, NotFound, ReversalBeforeEntry
from ledger.domain.idempotency import IdempotencyKeyReused

log = logging.getLogger("ledger.api")

PROBLEM_JSON = "application/problem+json"

# Seconds a client is told to wait before retrying a 503: long enough for a pool to
# refill or a database to come back, short enough that a retrying client loses little.
RETRY_AFTER_SECONDS = 2

# A refused command is a state conflict (409) unless the request itself is malformed
# (422) or names something that does not exist (404).
_STATUS_BY_CODE: dict[str, int] = {
    "invalid-amount": 422,
    "unknown-currency": 422,
    "currency-mismatch": 422,
    "unbalanced-posting": 422,
    "invalid-value": 422,
    ReversalBeforeEntry.code: 422,
    IdempotencyKeyReused.code: 422,
    NotFound.code: 404,
    AlreadyExists.code: 409,
    "projection-lagging": 503,
    "read-store-unavailable": 503,
    "too-many-streams": 429,
    "self-approval-forbidden": 403,
}


class ApiProblem(Exception):
    """A problem raised by the HTTP layer itself (headers, body size...)."""

    def __init__(self, status: int, code: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail


def problem(
    request: Request,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = problem_body(request.url.path, status, code, title, detail, **extra)
    _count_rejection(request, status, code)
    if status in (429, 503):
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), **(headers or {})}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_body(
    instance: str, status: int, code: str, title: str, detail: str, **extra: Any
) -> dict[str, Any]:
    """An RFC 9457 problem as a plain dict (for a batch item's answer, and for problem())."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    body.update(extra)
    return body


def problem_for(exc: BaseException) -> tuple[int, str, str, str]:
    """(status, code, title, detail) for an error a recording can end with; the same
    answers the exception handlers below give a single request."""
    if isinstance(exc, DomainError):
        return status_for(exc), exc.code, exc.title, exc.detail
    if isinstance(exc, ApiProblem):
        return exc.status, exc.code, exc.title, exc.detail
    if isinstance(exc, CommitOutcomeUnknown):
        return (
            503, "outcome-unknown", "Outcome unknown",
            f"outcome unknown: retry with the same Idempotency-Key ({exc}); a retry with the "
            "same key answers what was recorded, a new key could record the entry twice",
        )  # fmt: skip
    if isinstance(exc, CommitNotStarted):
        return (
            503, "store-unavailable", "Event store unavailable",
            f"{exc}; nothing was recorded, retry with the same Idempotency-Key",
        )  # fmt: skip
    if isinstance(exc, (OperationalError, PersistenceError)):
        return (
            503, "store-unavailable", "Event store unavailable",
            "the event store did not answer; retry after Retry-After seconds, with the same "
            "Idempotency-Key for a write",
        )  # fmt: skip
    log.error("unhandled error in a recording", exc_info=exc)
    return 500, "internal-error", "Internal error", "an unexpected error occurred"


def count_rejection(request: Request, status: int, code: str) -> None:
    _count_rejection(request, status, code)


async def send_problem(
    scope: Scope,
    send: Send,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """A problem answered by pure ASGI middleware (before FastAPI's handlers run).

    Rendered by the same JSON response class as the handlers' problems, so a 401 or
    403 is byte-for-byte shaped like every other problem.
    """
    content = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": scope.get("path", ""),
    }
    body = bytes(JSONResponse(content, status_code=status, media_type=PROBLEM_JSON).body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def status_for(error: DomainError) -> int:
    return _STATUS_BY_CODE.get(error.code, 409)


def _count_rejection(request: Request, status: int, code: str) -> None:
    """ledger_commands_rejected_total{reason}: only recording requests count."""
    if request.method != "POST":
        return
    if code == IdempotencyKeyReused.code:
        reason = "idempotency"
    elif status == 404:
        reason = "not_found"
    elif status == 409 and code in ("version-conflict", "concurrency-conflict"):
        reason = "conflict"
    elif status == 409:
        reason = "invariant"
    elif status == 503:
        reason = "unavailable"
    else:
        reason = "validation"
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.commands_rejected.labels(reason).inc()


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem(request, status_for(exc), exc.code, exc.title, exc.detail)


async def _api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem(request, exc.status, exc.code, exc.title, exc.detail)


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(
            request, 400, "malformed-json", "Malformed JSON", "the request body is not valid JSON"
        )
    # The offending input is not echoed back: it may be large or sensitive.
    fields = [
        {"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", ""), "code": e["type"]}
        for e in errors
    ]
    return problem(
        request,
        422,
        "validation-error",
        "Request validation failed",
        f"{len(fields)} field(s) are invalid",
        errors=fields,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
    response = problem(request, exc.status_code, code, title, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _store_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("event store unavailable", exc_info=exc)
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.store_errors.inc()
    # Whether a write landed is not known here (the connection may have failed during
    # its commit), so the answer claims nothing; the key makes the retry safe.
    return problem(
        request,
        503,
        "store-unavailable",
        "Event store unavailable",
        "the event store did not answer; retry after Retry-After seconds, with the same "
        "Idempotency-Key for a write",
    )


async def _commit_not_started(request: Request, exc: Exception) -> JSONResponse:
    log.warning("commit not started: %s", exc)
    return problem(
        request,
        503,
        "store-unavailable",
        "Event store unavailable",
        f"{exc}; nothing was recorded, retry with the same Idempotency-Key",
    )


async def _outcome_unknown(request: Request, exc: Exception) -> JSONResponse:
    log.warning("commit outcome unknown: %s", exc)
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.store_errors.inc()
    return problem(
        request,
        503,
        "outcome-unknown",
        "Outcome unknown",
        f"outcome unknown: retry with the same Idempotency-Key ({exc}); a retry with the "
        "same key answers what was recorded, a new key could record the entry twice",
    )


async def _timeout(request: Request, exc: Exception) -> JSONResponse:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return await _store_error(request, exc)
    return await _outcome_unknown(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem(request, 500, "internal-error", "Internal error", "an unexpected error occurred")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _store_error)
    app.add_exception_handler(PersistenceError, _store_error)
    # A commit that outlived its wait may still land: the client retries with its key.
    app.add_exception_handler(CommitOutcomeUnknown, _outcome_unknown)
    app.add_exception_handler(CommitNotStarted, _commit_not_started)
    app.add_exception_handler(TimeoutError, _timeout)
    app.add_exception_handler(Exception, _unexpected)
