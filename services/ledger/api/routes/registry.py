"""Register and read donors, programmes and schools."""

from __future__ import annotations

from fastapi import APIRouter, Response

from contracts.registry import (
    CashBalance,
    DonorView,
    ProgrammeView,
    RegisterDonor,
    Registered,
    RegisterProgramme,
    RegisterSchool,
    SchoolAccountView,
    SchoolView,
)
from ledger.api.deps import Ctx, Ledger
from ledger.api.routes import PROBLEMS, CodePath, etag, record

router = APIRouter(prefix="/v1", tags=["registry"], responses=PROBLEMS)


@router.post("/donors", status_code=201, response_model=Registered)
async def register_donor(
    body: RegisterDonor, ledger: Ledger, ctx: Ctx, response: Response
) -> Registered:
    return await record(ledger, ctx, "/v1/donors", body, response)  # type: ignore[no-any-return]


@router.get("/donors/{code}", response_model=DonorView)
def get_donor(ledger: Ledger, response: Response, code: CodePath) -> DonorView:
    donor = ledger.get_donor(code)
    etag(response, donor.version)
    return DonorView(code=donor.code, name=donor.name, kind=donor.kind, version=donor.version)


@router.post("/programmes", status_code=201, response_model=Registered)
async def register_programme(
    body: RegisterProgramme, ledger: Ledger, ctx: Ctx, response: Response
) -> Registered:
    return await record(ledger, ctx, "/v1/programmes", body, response)  # type: ignore[no-any-return]


@router.get("/programmes/{code}", response_model=ProgrammeView)
def get_programme(ledger: Ledger, response: Response, code: CodePath) -> ProgrammeView:
    programme = ledger.get_programme(code)
    etag(response, programme.version)
    return ProgrammeView(code=programme.code, name=programme.name, version=programme.version)


@router.post("/schools", status_code=201, response_model=Registered)
async def register_school(
    body: RegisterSchool, ledger: Ledger, ctx: Ctx, response: Response
) -> Registered:
    return await record(ledger, ctx, "/v1/schools", body, response)  # type: ignore[no-any-return]


@router.get("/schools/{code}", response_model=SchoolView)
def get_school(ledger: Ledger, response: Response, code: CodePath) -> SchoolView:
    school = ledger.get_school(code)
    etag(response, school.version)
    return SchoolView(
        code=school.code,
        name=school.name,
        school_type=school.school_type,
        region=school.region,
        district=school.district,
        hub=school.hub_code,
        version=school.version,
    )


@router.get("/schools/{code}/account", response_model=SchoolAccountView)
def get_school_account(ledger: Ledger, response: Response, code: CodePath) -> SchoolAccountView:
    account = ledger.get_school_account(code)
    etag(response, account.version)
    return SchoolAccountView(
        school=account.school,
        cash_on_hand=[CashBalance(currency=c, amount=a) for c, a in sorted(account.cash.items())],
        version=account.version,
    )
