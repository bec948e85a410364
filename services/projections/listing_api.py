"""List routes: find donors, programmes, schools, grants and regions without knowing ids."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from contracts.listing import (
    DonorItem,
    DonorList,
    GrantItem,
    GrantList,
    GrantStatus,
    ProgrammeItem,
    ProgrammeList,
    RegionItem,
    RegionList,
    SchoolItem,
    SchoolList,
)
from contracts.problems import Problem
from contracts.regions import REGION_SLUGS, Region
from projections import listing, queries
from projections.api import CODE, MAX_POSITION, RS, MinPosition

router = APIRouter(
    prefix="/v1",
    tags=["lists"],
    responses={
        400: {"model": Problem, "description": "Unknown query parameter"},
        422: {"model": Problem, "description": "Invalid query parameters"},
        503: {"model": Problem, "description": "Read models behind min_position after waiting"},
    },
)

AfterCode = Annotated[
    str | None, Query(pattern=CODE, description="Cursor: rows with a code after this one.")
]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size (at most 500).")]
Search = Annotated[
    str | None,
    Query(min_length=1, max_length=100, description="Text in the code or name (any case)."),
]
CodeQ = Annotated[str | None, Query(pattern=CODE)]


def _next(codes: list[str], limit: int) -> str | None:
    return codes[-1] if len(codes) == limit else None


@router.get("/donors", response_model=DonorList)
async def list_donors(
    rs: RS,
    min_position: MinPosition = None,
    q: Search = None,
    after: AfterCode = None,
    limit: Limit = 100,
) -> DonorList:
    async with rs.read(min_position) as r:
        rows = await listing.registry_page(r.conn, r.tables.donors, after=after, limit=limit, q=q)
    items = [DonorItem(code=x["code"], name=x["name"]) for x in rows]
    return DonorList(
        position=r.position,
        as_of=None,
        known_at=None,
        donors=items,
        next_after=_next([i.code for i in items], limit),
    )


@router.get("/programmes", response_model=ProgrammeList)
async def list_programmes(
    rs: RS,
    min_position: MinPosition = None,
    q: Search = None,
    after: AfterCode = None,
    limit: Limit = 100,
) -> ProgrammeList:
    async with rs.read(min_position) as r:
        rows = await listing.registry_page(
            r.conn, r.tables.programmes, after=after, limit=limit, q=q
        )
    items = [ProgrammeItem(code=x["code"], name=x["name"]) for x in rows]
    return ProgrammeList(
        position=r.position,
        as_of=None,
        known_at=None,
        programmes=items,
        next_after=_next([i.code for i in items], limit),
    )


@router.get("/schools", response_model=SchoolList)
async def list_schools(
    rs: RS,
    min_position: MinPosition = None,
    region: Annotated[Region | None, Query(description="Only schools in this region.")] = None,
    school_type: Annotated[
        Literal["hub", "small"] | None, Query(alias="type", description="hub or small.")
    ] = None,
    hub: Annotated[
        str | None, Query(pattern=CODE, description="Only the small schools of this hub.")
    ] = None,
    q: Search = None,
    after: AfterCode = None,
    limit: Limit = 100,
) -> SchoolList:
    equal = {"region": region, "school_type": school_type, "hub": hub}
    async with rs.read(min_position) as r:
        rows = await listing.registry_page(
            r.conn, r.tables.schools, after=after, limit=limit, q=q, equal=equal
        )
    items = [
        SchoolItem(
            code=x["code"],
            name=x["name"],
            school_type=x["school_type"],
            region=x["region"],
            district=x["district"],
            hub=x["hub"],
        )
        for x in rows
    ]
    return SchoolList(
        position=r.position,
        as_of=None,
        known_at=None,
        schools=items,
        next_after=_next([i.code for i in items], limit),
    )


@router.get("/grants", response_model=GrantList)
async def list_grants(
    rs: RS,
    min_position: MinPosition = None,
    school: CodeQ = None,
    donor: CodeQ = None,
    programme: CodeQ = None,
    status: Annotated[
        GrantStatus | None, Query(description="open, fully-disbursed or cancelled.")
    ] = None,
    after: Annotated[
        int, Query(ge=0, le=MAX_POSITION, description="Cursor: grants committed after this.")
    ] = 0,
    limit: Limit = 100,
) -> GrantList:
    f = listing.GrantFilter(school, donor, programme, status, after, limit)
    async with rs.read(min_position) as r:
        rows = await listing.grant_page(r.conn, r.tables, f)
    items = [GrantItem.model_validate({k: row[k] for k in GrantItem.model_fields}) for row in rows]
    return GrantList(
        position=r.position,
        as_of=None,
        known_at=None,
        grants=items,
        next_after=items[-1].position if len(items) == limit else None,
    )


@router.get("/regions", response_model=RegionList)
async def list_regions(rs: RS, min_position: MinPosition = None) -> RegionList:
    """Every region a school may be registered in, with how many schools each has."""
    async with rs.read(min_position) as r:
        counts = await queries.school_counts(r.conn, r.tables)
    return RegionList(
        position=r.position,
        as_of=None,
        known_at=None,
        regions=[RegionItem(code=c, schools=counts.get(c, 0)) for c in REGION_SLUGS],
    )
