"""The console reads and records through the API itself, in process, as the signed-in person.

Every figure a page shows and every entry a form records goes through the same route, the
same access rule, the same validation and the same application call as an API client's
request: there is no second code path for a rule. The call never leaves the process (an
ASGI transport, no socket), and it carries the person's own token, so the API's policy table
decides again what each call may see or do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.access import PRINCIPAL
from ledger.api.auth import Principal

# The in-process calls' base: never resolved, never a socket.
BASE = "http://ledger.internal"


@dataclass(frozen=True)
class Problem:
    """An API refusal as the page shows it: next to a field when it names one."""

    status: int
    code: str
    title: str
    detail: str
    fields: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, response: httpx.Response) -> Problem:
        try:
            body = response.json()
        except ValueError:
            body = {}
        return cls.from_body(response.status_code, body)

    @classmethod
    def from_body(cls, status: int, body: Any) -> Problem:
        if not isinstance(body, dict):
            body = {}
        fields: dict[str, str] = {}
        for error in body.get("errors") or []:
            name = str(error.get("field", "")).removeprefix("body.")
            fields.setdefault(name, str(error.get("message", "")))
        return cls(
            status=status,
            code=str(body.get("type", "")).rsplit(":", 1)[-1],
            title=str(body.get("title", "")),
            detail=str(body.get("detail", "")),
            fields=fields,
        )


class ApiRefused(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.detail)
        self.problem = problem


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: httpx.Headers


class _Forwarded(Response):
    """Answers with whatever the app answers ``scope`` with, as a download (the export's
    own file name if it gives one)."""

    def __init__(self, app: ASGIApp, scope: Scope, filename: str) -> None:
        super().__init__()
        self._app, self._scope, self._filename = app, scope, filename

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def named(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = list(message.get("headers", []))
                if not any(k == b"content-disposition" for k, _ in headers):
                    disposition = f'attachment; filename="{self._filename}"'.encode()
                    headers.append((b"content-disposition", disposition))
                message = {**message, "headers": headers}
            await send(message)

        await self._app(self._scope, receive, named)


class Api:
    """The API as the person signed in to this request may use it."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self._auth = request.headers.get("authorization", "")

    @property
    def principal(self) -> Principal | None:
        found = self.request.scope.get(PRINCIPAL)
        return found if isinstance(found, Principal) else None

    def _client(self) -> httpx.AsyncClient:
        headers = {"authorization": self._auth} if self._auth else {}
        # An API failure comes back as its 500 problem (shown as a page), not as an exception.
        transport = httpx.ASGITransport(app=self.request.app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers)

    async def get(self, path: str, params: Any = None) -> Any:
        """The body of a successful read, else ApiRefused."""
        if isinstance(params, dict):
            params = {k: v for k, v in params.items() if v is not None}
        async with self._client() as client:
            response = await client.get(path, params=params)
        if response.status_code >= 400:
            raise ApiRefused(Problem.of(response))
        return response.json()

    def download(self, path: str, filename: str, params: dict[str, str] | None = None) -> Response:
        """A read streamed through as it is produced (an export), as an attachment.

        The request is handed to the app again under the API's path, so the export's own
        route, access rule and streaming answer it; a refusal comes back as its problem.
        """
        scope = {
            key: value
            for key, value in self.request.scope.items()
            if key not in ("route", "endpoint", "path_params", "router")
        }
        scope.update(
            method="GET",
            path=path,
            raw_path=path.encode(),
            query_string=urlencode(params or {}).encode(),
            headers=[
                (b"authorization", self._auth.encode("latin-1")),
                (b"accept", b"*/*"),
            ],
        )
        return _Forwarded(self.request.app, scope, filename)

    async def maybe(self, path: str, params: Any = None) -> Any:
        """A read the person's roles may not allow: None when refused (403)."""
        try:
            return await self.get(path, params)
        except ApiRefused as e:
            if e.problem.status == 403:
                return None
            raise

    async def upload(
        self, path: str, params: dict[str, Any], file: tuple[str, bytes], key: str | None = None
    ) -> Answer:
        """A file sent as the API's multipart upload; its answer, whatever it is."""
        headers = {"idempotency-key": key} if key else {}
        async with self._client() as client:
            response = await client.post(path, params=params, files={"file": file}, headers=headers)
        return _answer(response)

    async def post(self, path: str, body: dict[str, Any], key: str | None = None) -> Answer:
        """A recording request; its answer whether it was recorded or refused."""
        headers = {"idempotency-key": key} if key else {}
        async with self._client() as client:
            response = await client.post(path, json=body, headers=headers)
        return _answer(response)


def _answer(response: httpx.Response) -> Answer:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    return Answer(response.status_code, payload, response.headers)
