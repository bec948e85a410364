"""Imports of bank statements and payment registers: templates, dry run, recording."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from ledger.api.problems import ApiProblem
from ledger.api.routes import PROBLEMS
from ledger.imports.columns import KINDS
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
