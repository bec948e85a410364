"""Strict JSON bodies: no NaN/Infinity, no duplicate keys.

Python's json module (which FastAPI uses) accepts ``NaN`` and ``Infinity`` and keeps the
last of two equal keys, so ``{"amount": 1, "amount": 100000}`` would record whichever
the parser kept, not what a reviewer of the request saw. This middleware parses the body
strictly first and refuses such requests with 400; the body is then handed on unchanged.
It runs inside the body-size limit, so it never buffers more than that limit allows.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.problems import send_problem

_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NotStrictJson(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            msg = f"duplicate key {key[:64]!r}"
            raise NotStrictJson(msg)
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    msg = f"{name} is not a JSON number"
    raise NotStrictJson(msg)


def parse_strict(body: bytes) -> Any:
    """Parse like json.loads, refusing NaN/Infinity and duplicate keys (NotStrictJson)."""
    return json.loads(body, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


class StrictJson:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        content_type = b""
        for name, value in scope.get("headers", []):
            if name == b"content-type":
                content_type = value.lower()
        if content_type and b"json" not in content_type:
            # Not JSON: FastAPI refuses it itself if the route wants JSON.
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away: nothing to parse, let the app see the disconnect.
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            try:
                parse_strict(body)
            except NotStrictJson as e:
                await send_problem(scope, send, 400, "malformed-json", "Malformed JSON", str(e))
                return
            except (ValueError, RecursionError):
                # Also answered here: FastAPI's parse would let a RecursionError out as a 500.
                await send_problem(
                    scope, send, 400, "malformed-json", "Malformed JSON",
                    "the request body is not valid JSON",
                )  # fmt: skip
                return
        whole: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([whole], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
