"""``/v1/exports/*``: streamed exports of the read models, with the balance endpoints'
``as_of`` / ``known_at`` / ``min_position`` parameters.

Readiness is settled before the first byte: a read that cannot reach ``min_position``
is a ``503 projection-lagging`` problem, and the position the export reflects is in
``X-Log-Position`` and the file name. The body then streams from one snapshot pinned
to that position (see ``source``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from contracts.problems import Problem
from projections.api import RS, C, MinPosition
from projections.exports.balances import donors_csv, schools_csv
from projections.exports.giving360 import giving360_json
from projections.exports.iati import check_reportable, iati_xml
from projections.exports.journal import journal_csv, journal_text
from projections.exports.source import Snapshot, snapshot
from projections.queries import Cut
from projections.service import ReadSide

Producer = Callable[[Snapshot], AsyncIterator[str]]

router = APIRouter(
    prefix="/v1/exports",
    tags=["exports"],
    responses={
        422: {"model": Problem, "description": "Invalid query parameters"},
        503: {"model": Problem, "description": "Read models behind min_position after waiting"},
    },
)

JOURNAL = "text/plain; charset=utf-8"
CSV = "text/csv; charset=utf-8"
XML = "application/xml"
JSON = "application/json"


async def stream(rs: ReadSide, at: int, cut: Cut, produce: Producer) -> AsyncIterator[str]:
    async with snapshot(rs.store, at, cut) as snap:
        async for chunk in produce(snap):
            yield chunk


async def export(
    rs: ReadSide, cut: Cut, min_position: int | None, produce: Producer, name: str, media: str
) -> StreamingResponse:
    async with rs.read(min_position) as r:
        at = r.position
    suffix = f"-as-of-{cut.as_of.isoformat()}" if cut.as_of else ""
    if cut.known_at:
        suffix += f"-known-at-{cut.known_at.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
    stem, dot, ext = name.rpartition(".")
    return StreamingResponse(
        stream(rs, at, cut, produce),
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{stem}-{at}{suffix}{dot}{ext}"',
            "X-Log-Position": str(at),
        },
    )


def _doc(what: str) -> str:
    return f"{what} Streams from one snapshot; takes the balance endpoints' filters."


@router.get(
    "/journal",
    response_class=StreamingResponse,
    responses={200: {"content": {JOURNAL: {}}, "description": "hledger/ledger-cli journal"}},
    description=_doc("Every entry as an hledger/ledger-cli journal, amounts in major units."),
)
async def journal(rs: RS, c: C, min_position: MinPosition = None) -> StreamingResponse:
    return await export(rs, c, min_position, journal_text, "ledger-journal.journal", JOURNAL)


@router.get(
    "/journal.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {CSV: {}}, "description": "one row per posting"}},
    description=_doc("The journal as CSV: one row per posting, signed minor units."),
)
async def journal_csv_export(rs: RS, c: C, min_position: MinPosition = None) -> StreamingResponse:
    return await export(rs, c, min_position, journal_csv, "ledger-journal.csv", CSV)


@router.get(
    "/schools.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {CSV: {}}, "description": "one row per school and currency"}},
    description=_doc("Per-school balances as CSV (the school endpoint's figures)."),
)
async def schools_csv_export(rs: RS, c: C, min_position: MinPosition = None) -> StreamingResponse:
    return await export(rs, c, min_position, schools_csv, "ledger-schools.csv", CSV)


@router.get(
    "/donors.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {CSV: {}}, "description": "one row per donor and currency"}},
    description=_doc("Per-donor balances as CSV (the donor endpoint's figures)."),
)
async def donors_csv_export(rs: RS, c: C, min_position: MinPosition = None) -> StreamingResponse:
    return await export(rs, c, min_position, donors_csv, "ledger-donors.csv", CSV)


@router.get(
    "/iati",
    response_class=StreamingResponse,
    responses={200: {"content": {XML: {}}, "description": "IATI 2.03 activities"}},
    description=_doc("IATI 2.03 activity XML: one activity per programme."),
)
async def iati(rs: RS, c: C, min_position: MinPosition = None) -> StreamingResponse:
    async with rs.read(min_position) as r:
        at = r.position
    async with snapshot(rs.store, at, c) as snap:
        await check_reportable(snap)
    return await export(rs, c, min_position, iati_xml, "ledger-iati.xml", XML)


@router.get(
    "/360giving",
    response_class=StreamingResponse,
    responses={200: {"content": {JSON: {}}, "description": "360Giving grants package"}},
    description=_doc("360Giving JSON: a package of grants."),
)
async def giving360(rs: RS, c: C, min_position: MinPosition = None) -> StreamingResponse:
    return await export(rs, c, min_position, giving360_json, "ledger-360giving.json", JSON)


PRODUCERS: dict[str, tuple[Producer, str]] = {
    "journal": (journal_text, "journal"),
    "journal-csv": (journal_csv, "csv"),
    "schools-csv": (schools_csv, "csv"),
    "donors-csv": (donors_csv, "csv"),
    "iati": (iati_xml, "xml"),
    "360giving": (giving360_json, "json"),
}
