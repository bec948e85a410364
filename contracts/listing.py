"""API models of the read side's lists: donors, programmes, schools, grants, regions."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from contracts.balances import ReadMeta
from contracts.common import View

GrantStatus = Literal["open", "fully-disbursed", "cancelled"]


class DonorItem(View):
    code: str = Field(description="Donor code.")
    name: str = Field(description="Donor name.")


class DonorList(ReadMeta):
    donors: list[DonorItem] = Field(description="Donors, ordered by code.")
    next_after: str | None = Field(description="Pass as `after` for the next page; null at end.")


class ProgrammeItem(View):
    code: str = Field(description="Programme code.")
    name: str = Field(description="Programme name.")


class ProgrammeList(ReadMeta):
    programmes: list[ProgrammeItem] = Field(description="Programmes, ordered by code.")
    next_after: str | None = Field(description="Pass as `after` for the next page; null at end.")


class SchoolItem(View):
    code: str = Field(description="School code.")
    name: str = Field(description="School name.")
    school_type: str = Field(description="hub or small.")
    region: str = Field(description="Region slug.")
    district: str = Field(description="District or town.")
    hub: str | None = Field(description="Hub school code, for a small school.")


class SchoolList(ReadMeta):
    schools: list[SchoolItem] = Field(description="Schools, ordered by code.")
    next_after: str | None = Field(description="Pass as `after` for the next page; null at end.")


class GrantItem(View):
    grant_id: str = Field(description="Grant id (GET /v1/grants/{grant_id} for its entries).")
    position: int = Field(description="Log position of the commitment; the list's order.")
    donor: str = Field(description="Donor code.")
    school: str = Field(description="School code.")
    programme: str | None = Field(description="Programme code.")
    currency: str = Field(description="Currency fixed at commitment.")
    value_date: dt.date = Field(description="Value date of the commitment.")
    reference: str | None = Field(description="Agreement reference of the commitment.")
    committed: int = Field(description="Commitment after reductions and reversals, minor units.")
    disbursed: int = Field(description="Disbursed so far, minor units.")
    undisbursed: int = Field(description="committed - disbursed, minor units.")
    reserved: int = Field(
        description="Held by disbursements awaiting approval (part of undisbursed)."
    )
    available: int = Field(description="undisbursed - reserved: what a new disbursement may use.")
    status: GrantStatus = Field(
        description="open (something undisbursed), fully-disbursed, or cancelled "
        "(nothing committed any more)."
    )


class GrantList(ReadMeta):
    grants: list[GrantItem] = Field(description="Grants in the order they were committed.")
    next_after: int | None = Field(description="Pass as `after` for the next page; null at end.")


class RegionItem(View):
    code: str = Field(description="Region slug, as accepted by school registration.")
    schools: int = Field(description="Schools registered in the region.")


class RegionList(ReadMeta):
    regions: list[RegionItem] = Field(description="Every region of Kazakhstan, by slug.")
