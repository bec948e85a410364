"""Auditor endpoints: the event feed (pages and a live SSE tail), history, digest, verify."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from contracts.audit import AuditDigest, Difference, HistoryPage, VerifyReport, VerifyRequest
from contracts.events.envelope import EventPage
from contracts.problems import Problem
from ledger.domain.errors import InvalidValue, NotFound
from projections.api import RS, current_read_side
from projections.audit import queries
from projections.audit.chain import ALGORITHM, GENESIS
from projections.audit.public import CURRENT
from projections.audit.streams import StreamLimits
from projections.audit.verify import Digest, verify_chain
from projections.moments import as_utc
from projections.service import ReadSide, ReadStoreUnavailable

router = APIRouter(
    prefix="/v1",
    tags=["audit"],
    responses={
        422: {"model": Problem, "description": "Invalid parameters"},
        503: {"model": Problem, "description": "Audit read model behind min_position"},
        429: {"model": Problem, "description": "Too many open event streams"},
    },
)

HEARTBEAT_SECONDS = 15.0
TAIL_POLL_SECONDS = 0.25
# Events per look at the store; a stream replaying from far back yields between looks.
PAGE = 500
# Where the access middleware leaves the verified caller (its ``subject`` names it).
PRINCIPAL = "ledger.principal"


After = Annotated[int, Query(ge=0, le=10**15, description="Return events after this position.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (at most 1000).")]
MinPosition = Annotated[
    int | None,
    Query(ge=0, le=10**15, description="Wait (bounded) until the feed reaches this position."),
]


async def _chained(conn: AsyncConnection) -> int:
    return await queries.head_position(conn)


def feed_filter(
    stream: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
            description="Only this stream (aggregate id, UUID).",
        ),
    ] = None,
    type: Annotated[
        list[str] | None,
        Query(
            max_length=32,
            description="Only these public event types (repeatable): " + ", ".join(sorted(CURRENT)),
        ),
    ] = None,
    recorded_from: Annotated[
        dt.datetime | None, Query(description="Recorded at or after (UTC if no offset).")
    ] = None,
    recorded_to: Annotated[
        dt.datetime | None, Query(description="Recorded before (UTC if no offset).")
    ] = None,
) -> queries.FeedFilter:
    unknown = sorted(set(type or ()) - set(CURRENT))
    if unknown:
        raise InvalidValue(f"unknown event type(s) {unknown}; known: {sorted(CURRENT)}")
    return queries.FeedFilter(
        stream=stream,
        types=tuple(type or ()),
        recorded_from=as_utc(recorded_from) if recorded_from else None,
        recorded_to=as_utc(recorded_to) if recorded_to else None,
    )


Filter = Annotated[queries.FeedFilter, Depends(feed_filter)]


@router.get("/events", response_model=EventPage)
async def events(
    rs: RS, flt: Filter, after: After = 0, limit: Limit = 100, min_position: MinPosition = None
) -> EventPage:
    """The global log in order, with stable cursor pagination by position."""
    async with rs.reading(_chained, min_position, "the audit feed") as (conn, at):
        page = await queries.feed(conn, after, limit, flt)
    next_after = page[-1].position if len(page) == limit else None
    return EventPage(events=page, next_after=next_after, head=at)


@router.get(
    "/events/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE tail."}},
)
async def event_stream(
    request: Request,
    rs: Annotated[ReadSide, Depends(current_read_side)],
    flt: Filter,
    after: Annotated[
        int | None, Query(ge=0, le=10**15, description="Start after this position.")
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(pattern=r"^\d{1,15}$", description="Resume point sent by a reconnecting client."),
    ] = None,
    max_seconds: Annotated[
        int,
        Query(ge=1, le=3600, description="Close the stream after this long; clients reconnect."),
    ] = 300,
) -> StreamingResponse:
    """A live tail of the feed as Server-Sent Events: ``id`` is the position, ``event`` the type.

    Without ``after`` or ``Last-Event-ID`` the tail starts at the current head. Streams end
    after ``max_seconds`` (EventSource reconnects with Last-Event-ID, losing nothing), so a
    forgotten client never holds a worker and a connection forever.
    """
    start = after if after is not None else int(last_event_id) if last_event_id else None
    limits: StreamLimits = request.app.state.stream_limits
    principal = request.scope.get(PRINCIPAL)
    caller = str(getattr(principal, "subject", "anonymous"))
    limits.acquire(caller)  # refused (429) before anything is sent
    released: list[bool] = []

    def release() -> None:
        if not released:
            released.append(True)
            limits.release(caller)

    return StreamingResponse(
        _tail(request, rs, flt, start, time.monotonic() + max_seconds, release),
        # Also after a stream that never started (the client left at once).
        background=BackgroundTask(release),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _tail(
    request: Request,
    rs: ReadSide,
    flt: queries.FeedFilter,
    start: int | None,
    until_seconds: float,
    release: Callable[[], None],
) -> AsyncIterator[bytes]:
    try:
        async for chunk in _follow(request, rs, flt, start, until_seconds):
            yield chunk
    finally:
        release()


async def _follow(
    request: Request,
    rs: ReadSide,
    flt: queries.FeedFilter,
    start: int | None,
    until_seconds: float,
) -> AsyncIterator[bytes]:
    cursor = start
    last_sent = time.monotonic()
    yield b"retry: 2000\n\n"
    while time.monotonic() < until_seconds and not await request.is_disconnected():
        try:
            async with rs.reading(_chained, None, "the audit feed") as (conn, _):
                if cursor is None:
                    cursor, _, _ = await queries.head(conn)
                page = await queries.feed(conn, cursor, PAGE, flt)
        except ReadStoreUnavailable:
            # End the stream cleanly: the client reconnects with Last-Event-ID after
            # the retry delay and loses nothing.
            yield b": read store unavailable, reconnect\n\n"
            return
        for rec in page:
            data = rec.model_dump_json()
            yield f"id: {rec.position}\nevent: {rec.type}\ndata: {data}\n\n".encode()
            cursor = rec.position
            last_sent = time.monotonic()
        if not page:
            if time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
                yield b": keep-alive\n\n"
                last_sent = time.monotonic()
            await asyncio.sleep(TAIL_POLL_SECONDS)


HistoryKind = Literal["grants", "schools", "donors", "programmes", "entries"]
_KIND = {
    "grants": "grant",
    "schools": "school",
    "donors": "donor",
    "programmes": "programme",
    "entries": "entry",
}


@router.get("/history/{kind}/{ref}", response_model=HistoryPage)
async def history(
    rs: RS,
    kind: Annotated[HistoryKind, Path(description="What the history is of.")],
    ref: Annotated[
        str,
        Path(
            pattern=r"^[a-z0-9][a-z0-9-]{1,63}$",
            description="Grant or entry id (UUID), or a school, donor or programme code.",
        ),
    ],
    after: After = 0,
    limit: Limit = 100,
    min_position: MinPosition = None,
) -> HistoryPage:
    """Every event that touched a grant, school, donor, programme or entry: who and why."""
    async with rs.reading(_chained, min_position, "the audit feed") as (conn, _):
        page = await queries.history(conn, _KIND[kind], ref, after, limit)
        if not page and after == 0 and not await queries.known(conn, _KIND[kind], ref):
            raise NotFound(f"no history for {_KIND[kind]} {ref!r}")
    next_after = page[-1].position if len(page) == limit else None
    return HistoryPage(kind=_KIND[kind], ref=ref, events=page, next_after=next_after)


@router.get("/audit/digest", response_model=AuditDigest)
async def digest(rs: RS, min_position: MinPosition = None) -> AuditDigest:
    """The chain head: store it outside the system, verify against it later."""
    async with rs.reading(_chained, min_position, "the audit feed") as (conn, _):
        position, value, count = await queries.head(conn)
    return AuditDigest(
        algorithm=ALGORITHM, position=position, hash=value or GENESIS.hex(), events=count
    )


@router.post("/audit/verify", response_model=VerifyReport)
async def verify(
    rs: RS,
    body: Annotated[
        VerifyRequest | None,
        Body(description="An earlier digest; omit to check the whole stored chain."),
    ] = None,
) -> VerifyReport:
    """Recompute the chain from the raw stored events; OK, or the first position that differs."""
    given = Digest(body.position, body.hash, body.events) if body is not None else None
    report = await run_in_threadpool(verify_chain, rs.log, rs.store.engine, given)
    diff = report.first_difference
    return VerifyReport(
        ok=report.ok,
        algorithm=report.algorithm,
        events_checked=report.events_checked,
        checked_through=report.checked_through,
        head_position=report.head.position,
        head_hash=report.head.hash,
        digest_matches=report.digest_matches,
        first_difference=Difference(position=diff.position, detail=diff.detail) if diff else None,
        notes=report.notes,
    )
