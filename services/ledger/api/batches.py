"""Batch recording: many recording requests decided together, each answered as alone.

Each item goes through the same table as the single routes (``recording.py``): its
path picks the route, the caller's roles are checked against that route's row of the
policy, its key, If-Match, path and body are validated the same way, and its answer
is the status and body the single route would have given. Non-atomic items are handed
to the sequencer together, so they share its rounds and commits; an atomic batch is
one group: all of it is recorded in one commit, or nothing is.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from contracts.batch import BatchItem, BatchItemResult, BatchRequest, BatchResult
from ledger.api.auth import Principal
from ledger.api.deps import parse_if_match
from ledger.api.policy import POLICY
from ledger.api.problems import ApiProblem, problem_body, problem_for
from ledger.api.recording import PARAM_PATTERNS, PARAMS, Recording, match
from ledger.application.app import LedgerApplication
from ledger.application.command import Command
from ledger.application.sequencer import NotRecorded
from ledger.application.unit_of_work import Context, Recorded
from ledger.domain.idempotency import KEY_PATTERN

_KEY = re.compile(KEY_PATTERN)


@dataclass
class _Item:
    index: int
    item: BatchItem
    recording: Recording | None = None
    ctx: Context | None = None
    command: Command | None = None
    answer: BatchItemResult | None = None


def _problem(
    item: BatchItem, status: int, code: str, title: str, detail: str, **extra: Any
) -> BatchItemResult:
    body = problem_body(item.path, status, code, title, detail, **extra)
    return BatchItemResult(status=status, body=body)


def _invalid(item: BatchItem, where: str, error: ValidationError) -> BatchItemResult:
    fields = [
        {
            "field": ".".join(str(p) for p in (where, *e.get("loc", ()))),
            "message": e.get("msg", ""),
            "code": e["type"],
        }
        for e in error.errors()
    ]
    return _problem(
        item, 422, "validation-error", "Request validation failed",
        f"{len(fields)} field(s) are invalid", errors=fields,
    )  # fmt: skip


def _prepare(caller: Principal, index: int, item: BatchItem) -> _Item:
    """Everything the single route checks before it decides, in the same order."""
    prepared = _Item(index, item)
    found = match(item.path)
    if found is None:
        prepared.answer = _problem(
            item, 404, "not-found", "Not found", f"no recording route at {item.path}"
        )
        return prepared
    recording, raw = found
    rule = POLICY.get(("POST", recording.template), frozenset())
    if not caller.roles & rule:
        prepared.answer = _problem(
            item, 403, "forbidden", "Forbidden",
            f"this needs one of the roles: {', '.join(sorted(rule))}",
        )  # fmt: skip
        return prepared
    try:
        params = _params(raw)
        body = recording.body.model_validate(item.body)
    except _PathInvalid as e:
        prepared.answer = _invalid(item, f"path.{e.name}", e.error)
        return prepared
    except ValidationError as e:
        prepared.answer = _invalid(item, "body", e)
        return prepared
    if not _KEY.match(item.idempotency_key):
        prepared.answer = _problem(
            item, 400, "invalid-idempotency-key", "Invalid Idempotency-Key",
            "Idempotency-Key must be 8..128 printable ASCII characters without spaces",
        )  # fmt: skip
        return prepared
    try:
        expected = parse_if_match(item.if_match)
    except ApiProblem as e:
        prepared.answer = _problem(item, e.status, e.code, e.title, e.detail)
        return prepared
    prepared.recording = recording
    prepared.ctx = Context(caller.subject, item.idempotency_key, expected)
    prepared.command = recording.build(params, body)
    return prepared


class _PathInvalid(Exception):
    def __init__(self, name: str, error: ValidationError) -> None:
        self.name = name
        self.error = error


def _params(raw: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, value in raw.items():
        try:
            params[name] = PARAMS[name].validate_python(value)
            pattern = PARAM_PATTERNS.get(name)
            if pattern is not None and not pattern.match(value):
                msg = f"String should match pattern '{pattern.pattern}'"
                raise ValueError(msg)
        except ValueError as e:
            error = e if isinstance(e, ValidationError) else _pattern_error(name, value, str(e))
            raise _PathInvalid(name, error) from None
    return params


def _pattern_error(name: str, value: str, message: str) -> ValidationError:
    return ValidationError.from_exception_data(
        "path",
        [
            {
                "type": "string_pattern_mismatch",
                "loc": (),
                "input": value,
                "ctx": {"pattern": message.split("'")[1]},
            }
        ],
    )


def _answered(prepared: _Item, recorded: Recorded) -> BatchItemResult:
    assert prepared.recording is not None
    status, model = prepared.recording.respond(recorded)
    return BatchItemResult(
        status=status, body=model.model_dump(mode="json"), replayed=recorded.replayed
    )


def _refused(prepared: _Item, error: BaseException) -> BatchItemResult:
    status, code, title, detail = problem_for(error)
    return _problem(prepared.item, status, code, title, detail)


def _not_recorded(prepared: _Item, refused: int) -> BatchItemResult:
    return _problem(
        prepared.item, 424, "not-recorded", "Not recorded",
        f"nothing of the atomic batch was recorded: item {refused} was refused",
    )  # fmt: skip


def _submit(
    ledger: LedgerApplication, request: BatchRequest, items: list[_Item]
) -> list[tuple[_Item, Future[Recorded]]]:
    ready = [p for p in items if p.answer is None]
    pairs = []
    for p in ready:
        assert p.ctx is not None and p.command is not None
        pairs.append((p.ctx, p.command))
    if request.atomic:
        futures = ledger.submit_atomic(pairs) if pairs else []
    else:
        futures = [ledger.submit(ctx, command) for ctx, command in pairs]
    return list(zip(ready, futures, strict=True))


def _settle(
    ledger: LedgerApplication, prepared: _Item, future: Future[Recorded]
) -> BatchItemResult:
    # The same settling a single request gets: a command never taken up is cancelled
    # (not started), one still running may land (outcome unknown).
    try:
        recorded = ledger.settle(future, timeout=0, waited=ledger.commit_wait_seconds)
    except NotRecorded as e:
        return _not_recorded(prepared, e.refused_index)
    except BaseException as e:
        return _refused(prepared, e)
    return _answered(prepared, recorded)


def _prepared(caller: Principal, request: BatchRequest) -> list[_Item]:
    items = [_prepare(caller, i, item) for i, item in enumerate(request.items)]
    if request.atomic:
        seen: set[str] = set()
        for p in items:
            if p.answer is None and p.item.idempotency_key in seen:
                p.answer = _problem(
                    p.item, 422, "idempotency-key-repeated", "Idempotency-Key repeated",
                    "an atomic batch names each Idempotency-Key once",
                )  # fmt: skip
            seen.add(p.item.idempotency_key)
        refused = next((p.index for p in items if p.answer is not None), None)
        if refused is not None:
            # Refused before anything was decided: nothing is submitted.
            for p in items:
                if p.answer is None:
                    p.answer = _not_recorded(p, refused)
    return items


def _result(request: BatchRequest, items: Sequence[_Item]) -> BatchResult:
    answers = [p.answer for p in items]
    assert all(a is not None for a in answers)
    done = [a for a in answers if a is not None]
    ok = [a for a in done if a.status < 300]
    refused_item = None
    if request.atomic:
        refused_item = next(
            (i for i, a in enumerate(done) if a.status >= 300 and a.status != 424), None
        )
        if refused_item is None:
            refused_item = next((i for i, a in enumerate(done) if a.status >= 300), None)
    return BatchResult(
        atomic=request.atomic,
        recorded=sum(1 for a in ok if not a.replayed),
        replayed=sum(1 for a in ok if a.replayed),
        refused=len(done) - len(ok),
        refused_item=refused_item,
        items=done,
    )


def execute(ledger: LedgerApplication, caller: Principal, request: BatchRequest) -> BatchResult:
    """Record a batch and wait for its answers (for callers off the event loop)."""
    items = _prepared(caller, request)
    submitted = _submit(ledger, request, items)
    deadline = time.monotonic() + ledger.commit_wait_seconds
    for prepared, future in submitted:
        with contextlib.suppress(BaseException):  # settled below, with its problem
            future.result(timeout=max(0.0, deadline - time.monotonic()))
        prepared.answer = _settle(ledger, prepared, future)
    return _result(request, items)


async def execute_async(
    ledger: LedgerApplication, caller: Principal, request: BatchRequest
) -> BatchResult:
    """Record a batch without holding a worker thread while the sequencer decides."""
    items = _prepared(caller, request)
    submitted = _submit(ledger, request, items)
    if submitted:
        waiting = [asyncio.wrap_future(f) for _, f in submitted]
        await asyncio.wait(waiting, timeout=ledger.commit_wait_seconds)
        for w in waiting:
            if not w.done():
                w.cancel()  # the concurrent future stays as it is; settled below
            elif not w.cancelled():
                w.exception()  # retrieved, so asyncio does not log it as never retrieved
    for prepared, future in submitted:
        prepared.answer = _settle(ledger, prepared, future)
    return _result(request, items)
