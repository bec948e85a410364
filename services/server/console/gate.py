"""The console's request gate: session cookie to bearer token, forms to JSON, CSRF, errors.

It wraps the API's own guards, so the console is checked by the same access control as the
API: the session cookie becomes the ``Authorization`` header the policy table is enforced on
(an ``Authorization`` header a browser sends itself is dropped on console paths: the console
knows callers by their cookie only). A form post must carry the CSRF token before anything
else looks at it; its fields are then handed on as a JSON object, so the API's strict-JSON
and body-size guards see the same body the console route reads. A problem answered for a
console path (401, 403, ...) becomes a page a person can read: 401 leads to sign-in.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.exceptions import HTTPException
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.console.i18n import N_
from server.console.session import CSRF_FIELD, PREFIX, SESSION_COOKIE, csrf_ok

FORM = b"application/x-www-form-urlencoded"
MULTIPART = b"multipart/form-data"
# Set on an upload's scope: its fields (text) and files (name, bytes), read by the route.
UPLOAD = "console.upload"
_BODY_HEADERS = (b"content-type", b"content-length")
# Set on a form post's scope: whether its CSRF token matched the browser's cookie.
CSRF_CHECKED = "console.csrf"
# Every console answer: no script but the package's own, no framing, no referrer abroad.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
# Renders an error page: (scope, cookies, status, title, detail) -> (html, headers).
ErrorPage = Callable[[Scope, dict[str, str], int, str, str], Awaitable[bytes]]


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return None


def form_fields(body: bytes) -> dict[str, Any]:
    """Fields of a urlencoded form; a name given more than once becomes a list."""
    fields: dict[str, Any] = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        if name in fields:
            previous = fields[name]
            fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[name] = value
    return fields


class ConsoleGate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_upload_bytes: int,
        error_page: ErrorPage,
        secure: bool,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.error_page = error_page
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_console(scope["path"]):
            await self.app(scope, receive, send)
            return
        cookies = cookie_parser((_header(scope, b"cookie") or b"").decode("latin-1"))
        token = cookies.get(SESSION_COOKIE)
        if token:
            # A browser's session: the cookie is the credential, whatever header came along.
            headers = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
            headers.append((b"authorization", b"Bearer " + token.encode("latin-1", "replace")))
            scope["headers"] = headers
        # Pages for people, the API's own answers for a program that brought its token.
        browser = bool(token) or b"text/html" in (_header(scope, b"accept") or b"")
        send = _with_security_headers(send)
        content_type = (_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
        if scope["method"] == "POST" and content_type == MULTIPART and token:
            # An upload: read whole (to its own limit), CSRF checked, then kept on the scope
            # for the route; the API's guards see an empty JSON object, not the file.
            upload = await self._upload(scope, receive)
            if upload is None:
                too_large = N_("The file is too large.")
                await self._page(scope, cookies, send, 413, N_("Too large"), too_large)
                return
            sent = upload["fields"].pop(CSRF_FIELD, None)
            if not csrf_ok(cookies, sent):
                await self._refuse_csrf(scope, cookies, send)
                return
            scope[CSRF_CHECKED] = True
            scope[UPLOAD] = upload
            receive = self._as_json(scope, b"{}", receive)
        elif scope["method"] == "POST" and (content_type == FORM or token):
            if content_type != FORM:
                # With a session, only the console's own forms are accepted.
                not_form = N_("Send the page's form.")
                await self._page(scope, cookies, send, 415, N_("Not a form"), not_form)
                return
            body = await self._body(receive)
            if body is None:
                too_large = N_("The form is too large.")
                await self._page(scope, cookies, send, 413, N_("Too large"), too_large)
                return
            fields = form_fields(body)
            sent = fields.pop(CSRF_FIELD, None)
            valid = csrf_ok(cookies, sent if isinstance(sent, str) else None)
            if token and not valid:
                await self._refuse_csrf(scope, cookies, send)
                return
            # Sign-in (before any session) checks this itself, against its nonce cookie.
            scope[CSRF_CHECKED] = valid
            receive = self._as_json(scope, json.dumps(fields).encode(), receive)
        await self.app(scope, receive, self._readable(scope, cookies, send) if browser else send)

    @staticmethod
    def _as_json(scope: Scope, data: bytes, receive: Receive) -> Receive:
        kept = [(k, v) for k, v in scope["headers"] if k not in _BODY_HEADERS]
        scope["headers"] = [
            *kept,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
        ]
        return _replay(data, receive)

    async def _refuse_csrf(self, scope: Scope, cookies: dict[str, str], send: Send) -> None:
        await self._page(
            scope, cookies, send, 403, N_("Form refused"),
            N_("The form's security token is missing or out of date. Reload the page "
               "and send it again."),
        )  # fmt: skip

    async def _upload(self, scope: Scope, receive: Receive) -> dict[str, Any] | None:
        """A multipart form's text fields and files; None when larger than the limit.

        A file kept in a hidden field (base64) counts: the limit allows its inflation."""
        limit = self.max_upload_bytes * 4 // 3 + 64 * 1024
        body = await self._body(receive, limit)
        if body is None:
            return None
        request = Request(scope, _replay(body, receive))
        fields: dict[str, str] = {}
        files: dict[str, tuple[str, bytes]] = {}
        try:
            async with request.form(max_files=2, max_fields=50, max_part_size=limit) as form:
                for name, value in form.multi_items():
                    if isinstance(value, str):
                        fields.setdefault(name, value)
                    elif name not in files:
                        files[name] = (value.filename or "upload", await value.read())
        except HTTPException:
            fields, files = {}, {}
        return {"fields": fields, "files": files}

    async def _body(self, receive: Receive, limit: int | None = None) -> bytes | None:
        limit = self.max_body_bytes if limit is None else limit
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _page(
        self,
        scope: Scope,
        cookies: dict[str, str],
        send: Send,
        status: int,
        title: str,
        detail: str,
    ) -> None:
        html = await self.error_page(scope, cookies, status, title, detail)
        await _send_html(send, status, html)

    def _readable(self, scope: Scope, cookies: dict[str, str], send: Send) -> Send:
        """Turn a problem+json answer into a page (a 401 into the way to sign in)."""
        held: dict[str, Any] = {}

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                types = [v for k, v in message.get("headers", []) if k == b"content-type"]
                if types and types[0].startswith(b"application/problem+json"):
                    held["start"] = message
                    held["body"] = b""
                    return
            elif "start" in held and message["type"] == "http.response.body":
                held["body"] += message.get("body", b"")
                if message.get("more_body", False):
                    return
                await self._problem_page(
                    scope, cookies, send, held["start"]["status"], held["body"]
                )
                return
            await send(message)

        return wrapped

    async def _problem_page(
        self, scope: Scope, cookies: dict[str, str], send: Send, status: int, body: bytes
    ) -> None:
        if status == 401:
            target = scope["path"] if scope["method"] == "GET" else PREFIX + "/"
            location = f"{PREFIX}/sign-in?next={quote(target, safe='/')}"
            headers = [(b"location", location.encode()), (b"cache-control", b"no-store")]
            if cookies.get(SESSION_COOKIE):
                # The token expired or is no longer accepted: the session ends with it.
                attributes = (
                    f"{SESSION_COOKIE}=; Max-Age=0; Path={PREFIX}; HttpOnly; SameSite=Strict"
                )
                if self.secure:
                    attributes += "; Secure"
                headers.append((b"set-cookie", attributes.encode()))
            await send({"type": "http.response.start", "status": 303, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        try:
            problem = json.loads(body)
        except ValueError:
            problem = {}
        title = str(problem.get("title", "Error"))
        detail = str(problem.get("detail", ""))
        await self._page(scope, cookies, send, status, title, detail)


async def _send_html(send: Send, status: int, html: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(html)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": html})


def _with_security_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
        await send(message)

    return wrapped


def _replay(data: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": data, "more_body": False}
        return await receive()

    return replayed
