"""Imports of bank statements and payment registers: templates, dry run, recording."""

from __future__ import annotations

from typing import Annotated, Literal

from anyio import from_thread
from fastapi import APIRouter, File, Header, Path, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from contracts.imports import ImportReport
from contracts.problems import Problem
from ledger.api import importing
from ledger.api.deps import Caller, Ledger, command_context
from ledger.api.import_files import ImportRefused, ImportSettings
from ledger.api.import_report import report
from ledger.api.problems import ApiProblem, problem
from ledger.api.routes import PROBLEMS
from ledger.imports.columns import KINDS
from ledger.imports.mapping import GrantKey
from ledger.imports.templates import template_csv, template_xlsx

router = APIRouter(prefix="/v1/imports", tags=["imports"], responses=PROBLEMS)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Template = Annotated[
    str,
    Path(
        pattern=r"^[a-z-]+\.(xlsx|csv)$",
        description="The register kind and format: "
        + ", ".join(f"{k}.xlsx" for k in KINDS)
        + " (or .csv).",
    ),
]
Lang = Annotated[Literal["en", "ru", "kk"], Query(description="Language of the header row.")]


@router.get(
    "/templates/{template}",
    response_class=Response,
    responses={200: {"content": {XLSX: {}, "text/csv": {}}, "description": "The template."}},
)
def template(template: Template, lang: Lang = "en") -> Response:
    """An empty register of one kind (header and an example row) to fill in and upload."""
    kind, _, ext = template.rpartition(".")
    if kind not in KINDS:
        raise ApiProblem(
            404, "not-found", "Not found",
            f"no register kind {kind!r}; known: {', '.join(KINDS)}",
        )  # fmt: skip
    disposition = {"Content-Disposition": f'attachment; filename="{kind}-{lang}.{ext}"'}
    if ext == "xlsx":
        return Response(template_xlsx(kind, lang), media_type=XLSX, headers=disposition)
    return Response(
        template_csv(kind, lang), media_type="text/csv; charset=utf-8", headers=disposition
    )


KindQuery = Annotated[
    Literal["disbursements", "expenditures", "operating-costs", "in-kind"] | None,
    Query(description="A register's kind; found from its header when omitted."),
]
Mode = Annotated[
    Literal["atomic", "per-row"],
    Query(
        description="atomic: every ready line is recorded or none is, and any refused line "
        "or line waiting for a decision records nothing; per-row: each line on its own."
    ),
]


@router.post(
    "",
    response_model=ImportReport,
    responses={
        201: {"model": ImportReport, "description": "Recorded"},
        413: {"model": Problem, "description": "File larger or longer than the limits"},
        422: {"model": Problem, "description": "Malformed file, or an atomic import refused"},
    },
)
async def import_file(
    request: Request,
    ledger: Ledger,
    caller: Caller,
    response: Response,
    file: Annotated[
        UploadFile,
        File(description="A 1CClientBankExchange statement, or a register (XLSX or CSV)."),
    ],
    dry_run: Annotated[
        bool, Query(description="Show what each line would record; record nothing.")
    ] = False,
    kind: KindQuery = None,
    mode: Mode = "atomic",
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Required unless dry_run: keys the import run itself (each line "
            "carries its own key from the bank's identity of the payment)."
        ),
    ] = None,
) -> ImportReport | JSONResponse:
    """Import a bank statement or a payment register: first with dry_run=true."""
    settings: ImportSettings = request.app.state.imports
    atomic = mode == "atomic"
    ctx = None if dry_run else await command_context(request, idempotency_key)
    data = await file.read(settings.max_bytes + 1)
    finder = settings.open_grants

    def grants(keys: set[GrantKey]) -> dict[GrantKey, list[str]]:
        # Called from the worker thread the import runs in: the read side is async.
        assert finder is not None
        return from_thread.run(finder, keys)

    try:
        outcome = await run_in_threadpool(
            importing.run, ledger, caller, ctx, file.filename or "upload", data, settings,
            grants if finder is not None else None, kind=kind, atomic=atomic,
        )  # fmt: skip
    except ImportRefused as e:
        raise ApiProblem(e.status, e.code, e.title, e.detail) from None
    prepared = outcome.prepared
    if outcome.run is None:
        body = report(prepared, dry_run=True, atomic=atomic)
        if ctx is None:
            return body
        shown = ", ".join(str(n) for n in outcome.blocked[:10])
        detail = outcome.refusal or (
            f"{len(outcome.blocked)} lines are refused or wait for a decision (lines {shown}); "
            "nothing was recorded: correct them, or import per row (mode=per-row)"
        )
        return problem(
            request, 422, "import-refused", "Import refused", detail,
            report=body.model_dump(mode="json"),
        )  # fmt: skip
    response.status_code = 201
    response.headers["X-Log-Position"] = str(outcome.run.position)
    return report(prepared, dry_run=False, atomic=atomic, recorded=outcome.run)
