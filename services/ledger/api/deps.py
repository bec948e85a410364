"""Request-scoped inputs: the application, the caller's context, If-Match."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request

from ledger.api.access import PRINCIPAL
from ledger.api.auth import Principal
from ledger.api.problems import ApiProblem
from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context
from ledger.domain.idempotency import KEY_PATTERN

_KEY = re.compile(KEY_PATTERN)
_IF_MATCH = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')


# The dependencies are coroutines although they never wait: FastAPI runs a plain
# ``def`` dependency in its worker-thread pool, a hop per request for nothing.


async def get_ledger(request: Request) -> LedgerApplication:
    ledger: LedgerApplication = request.app.state.ledger
    return ledger


async def caller(request: Request) -> Principal:
    return principal(request)


def principal(request: Request) -> Principal:
    """The caller AccessControl verified; every non-public route has one."""
    found = request.scope.get(PRINCIPAL)
    if not isinstance(found, Principal):
        # Only reachable if a recording route were made public: refuse rather than record
        # an unattributed fact.
        raise ApiProblem(401, "unauthenticated", "Authentication required", "no verified caller")
    return found


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    match = _IF_MATCH.match(value.strip())
    if not match:
        raise ApiProblem(
            400, "invalid-if-match", "Invalid If-Match", 'If-Match must be an ETag such as "5"'
        )
    return int(match.group(1))


async def command_context(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(description="Unique key per intended request; a retry with it records nothing."),
    ] = None,
    if_match: Annotated[
        str | None, Header(description="ETag (version) of the state the request acts on.")
    ] = None,
) -> Context:
    if not idempotency_key:
        raise ApiProblem(
            400,
            "idempotency-key-required",
            "Idempotency-Key required",
            "every recording request needs an Idempotency-Key header (8..128 printable characters)",
        )
    if not _KEY.match(idempotency_key):
        raise ApiProblem(
            400,
            "invalid-idempotency-key",
            "Invalid Idempotency-Key",
            "Idempotency-Key must be 8..128 printable ASCII characters without spaces",
        )
    return Context(
        actor=principal(request).subject,
        idempotency_key=idempotency_key,
        expected_version=parse_if_match(if_match),
    )


Ledger = Annotated[LedgerApplication, Depends(get_ledger)]
Ctx = Annotated[Context, Depends(command_context)]
Caller = Annotated[Principal, Depends(caller)]
