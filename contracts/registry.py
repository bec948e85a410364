"""API models for registering and reading donors, schools and programmes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.common import SINGLE_LINE, Code, Command, View
from contracts.regions import REGION_SLUGS

DonorKind = Literal["fund", "holding", "network", "government", "other"]


class RegisterDonor(Command):
    code: Code
    name: str = Field(
        min_length=1,
        max_length=200,
        pattern=SINGLE_LINE,
        description="Donor's legal or common name.",
    )
    kind: DonorKind | None = Field(
        default=None,
        description="How the donor contributes: fund (cash grants), holding (operating costs), "
        "network (in kind), government, other. Omitted: recorded as unspecified.",
    )


class RegisterProgramme(Command):
    code: Code
    name: str = Field(
        min_length=1, max_length=200, pattern=SINGLE_LINE, description="Programme name."
    )


class RegisterSchool(Command):
    code: Code
    name: str = Field(min_length=1, max_length=200, pattern=SINGLE_LINE, description="School name.")
    school_type: Literal["hub", "small"] = Field(
        description="hub: a hub (opornaya) school; small: a small rural school it supports."
    )
    region: str = Field(
        pattern=r"^[a-z0-9-]{2,32}$",
        description="Region slug, e.g. aktobe, north-kazakhstan, almaty-city "
        "(all of them: GET /v1/regions).",
        examples=["aktobe"],
        json_schema_extra={"enum": list(REGION_SLUGS)},
    )
    district: str = Field(
        min_length=1, max_length=100, pattern=SINGLE_LINE, description="District or town."
    )
    hub: Code | None = Field(
        default=None, description="For a small school: the code of the hub school it belongs to."
    )


class Registered(View):
    code: str = Field(description="The registered code.")
    position: int = Field(description="Position of the registration in the event log.")


class DonorView(View):
    code: str = Field(description="Donor code.")
    name: str = Field(description="Donor name.")
    kind: str = Field(
        description="fund, holding, network, government, other; unspecified for donors "
        "registered before kinds were recorded."
    )
    version: int = Field(description="Aggregate version; also sent as the ETag.")


class ProgrammeView(View):
    code: str = Field(description="Programme code.")
    name: str = Field(description="Programme name.")
    version: int = Field(description="Aggregate version; also sent as the ETag.")


class SchoolView(View):
    code: str = Field(description="School code.")
    name: str = Field(description="School name.")
    school_type: str = Field(description="hub or small.")
    region: str = Field(description="Region slug.")
    district: str = Field(description="District or town.")
    hub: str | None = Field(description="Hub school code, for a small school.")
    version: int = Field(description="Aggregate version; also sent as the ETag.")


class CashBalance(View):
    currency: str = Field(description="ISO 4217 code.")
    amount: int = Field(description="Cash on hand in minor units.")


class SchoolAccountView(View):
    school: str = Field(description="School code.")
    cash_on_hand: list[CashBalance] = Field(description="Cash on hand per currency.")
    version: int = Field(
        description="Account version; send as If-Match when recording an expenditure."
    )
