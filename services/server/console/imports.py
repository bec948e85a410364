"""Imports: upload a statement or register, see what it would record, then record it.

The first post is the API's dry run; the preview keeps the file itself (base64, in a hidden
field of the confirm form) so the confirmation records exactly the file that was shown,
never one chosen again. The confirm form carries one idempotency key for the import run, and
every line carries the key of its payment at the bank: a double confirmation records once.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from ledger.imports.columns import KINDS
from server.console.client import Api, Problem
from server.console.forms import new_key
from server.console.gate import UPLOAD
from server.console.render import page
from server.console.session import PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)

MODES = ("atomic", "per-row")


def _upload(request: Request) -> dict[str, Any]:
    found = request.scope.get(UPLOAD)
    return found if isinstance(found, dict) else {"fields": {}, "files": {}}


def _options(fields: dict[str, str]) -> dict[str, str]:
    kind = fields.get("kind", "")
    mode = fields.get("mode", "atomic")
    return {"kind": kind if kind in KINDS else "", "mode": mode if mode in MODES else "atomic"}


def _params(options: dict[str, str], dry_run: bool) -> dict[str, Any]:
    params: dict[str, Any] = {"mode": options["mode"], "dry_run": "true" if dry_run else "false"}
    if options["kind"]:
        params["kind"] = options["kind"]
    return params


def _imports_page(request: Request, status: int = 200, **values: Any) -> Response:
    values.setdefault("options", {"kind": "", "mode": "atomic"})
    return page(request, "imports.html", status, kinds=KINDS, modes=MODES, **values)


@router.get("/imports")
async def imports(request: Request) -> Response:
    return _imports_page(request)


@router.get("/imports/templates/{template}")
async def template(
    request: Request, template: Annotated[str, Path(pattern=r"^[a-z-]+\.(xlsx|csv)$")]
) -> Response:
    """An empty register to fill in, as the API gives it."""
    return Api(request).download(f"/v1/imports/templates/{template}", template)


@router.post("/imports")
async def preview(request: Request) -> Response:
    """The dry run: what each line would record, and what is wrong with it."""
    upload = _upload(request)
    options = _options(upload["fields"])
    chosen = upload["files"].get("file")
    if chosen is None or not chosen[1]:
        return _imports_page(request, 422, missing=True, options=options)
    name, data = chosen
    answer = await Api(request).upload("/v1/imports", _params(options, True), (name, data))
    if answer.status >= 300:
        problem = Problem.from_body(answer.status, answer.body)
        return _imports_page(request, answer.status, problem=problem, options=options)
    return _imports_page(
        request,
        report=answer.body,
        options=options,
        kept={"name": name, "content": base64.b64encode(data).decode(), "key": new_key()},
    )


@router.post("/imports/confirm")
async def confirm(request: Request) -> Response:
    """Record the file the preview showed, under the preview's key."""
    fields = _upload(request)["fields"]
    options = _options(fields)
    try:
        data = base64.b64decode(fields.get("content", ""), validate=True)
    except (binascii.Error, ValueError):
        data = b""
    key = fields.get("idempotency_key", "")
    if not data or not key:
        return _imports_page(request, 422, missing=True, options=options)
    name = fields.get("file_name", "upload") or "upload"
    answer = await Api(request).upload("/v1/imports", _params(options, False), (name, data), key)
    if answer.status >= 300:
        problem = Problem.from_body(answer.status, answer.body)
        body = answer.body if isinstance(answer.body, dict) else {}
        return _imports_page(
            request, answer.status, problem=problem, report=body.get("report"), options=options
        )
    return _imports_page(request, report=answer.body, options=options, recorded=True)
