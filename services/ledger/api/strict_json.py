"""Strict JSON bodies: no NaN/Infinity, no duplicate keys.

Python's json module (which FastAPI uses) accepts ``NaN`` and ``Infinity`` and keeps the
last of two equal keys, so ``{"amount": 1, "amount": 100000}`` would record whichever
the parser kept, not what a reviewer of the request saw. This middleware parses the body
strictly first and refuses such requests with 400; the body is then handed on unchanged.
It runs inside the body-size limit, so it never buffers more than that limit allows.

The check and the parser must read the same media type: a request with two Content-Type
headers is refused (the router reads the first, a middleware might read the last), and a
body in any media type other than JSON is refused with 415, so no body reaches a route
unparsed by this check.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.limits import route_path
from ledger.api.problems import send_problem

_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Where the strictly parsed body is left for the routes, so a route that reads the JSON
# itself need not parse (or check) it a second time: see ``parsed_body``.
PARSED = "ledger.json_body"
_NOTHING = object()


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


def is_json_media_type(content_type: bytes) -> bool:
    """application/json or application/<anything>+json, parameters ignored (as FastAPI)."""
    media = content_type.split(b";", 1)[0].strip().lower()
    kind, _, subtype = media.partition(b"/")
    return kind == b"application" and (subtype == b"json" or subtype.endswith(b"+json"))


def is_multipart(content_type: bytes) -> bool:
    return content_type.split(b";", 1)[0].strip().lower() == b"multipart/form-data"


class StrictJson:
    def __init__(self, app: ASGIApp, uploads: frozenset[str] = frozenset()) -> None:
        self.app = app
        # Routes that take a file as multipart/form-data (and nothing else but JSON).
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        if route_path(scope) in self.uploads:
            types = [value for name, value in scope.get("headers", []) if name == b"content-type"]
            if len(types) == 1 and is_multipart(types[0]):
                # Streamed to the route unbuffered; the body limit still counts it.
                await self.app(scope, receive, send)
                return
        types = [value for name, value in scope.get("headers", []) if name == b"content-type"]
        if len(types) > 1:
            await send_problem(
                scope, send, 400, "repeated-content-type", "Repeated Content-Type",
                "a request carries at most one Content-Type header",
            )  # fmt: skip
            return
        content_type = types[0] if types else b""
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
        if body and content_type and not is_json_media_type(content_type):
            await send_problem(
                scope, send, 415, "unsupported-media-type", "Unsupported media type",
                "request bodies are application/json",
            )  # fmt: skip
            return
        if body:
            try:
                scope[PARSED] = parse_strict(body)
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


def parsed_body(scope: Scope, body: bytes) -> Any:
    """The request's JSON body: as StrictJson parsed it, or parsed strictly now.

    Raises NotStrictJson or ValueError as ``parse_strict`` does (only when the
    middleware did not run, e.g. a route mounted without it).
    """
    found = scope.get(PARSED, _NOTHING)
    return parse_strict(body) if found is _NOTHING else found


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
