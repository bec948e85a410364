"""Read endpoints: balances, summaries, journal and projection status."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from contracts.balances import (
    AccountBalance,
    AccountBalances,
    Currencies,
    CurrencyUnit,
    DonorBalance,
    DonorFigures,
    GroupBalances,
    GroupTotals,
    JournalEntry,
    JournalPage,
    Posting,
    ProjectionsStatus,
    ProjectionStatus,
    SchoolBalance,
    SchoolFigures,
    TrialBalance,
)
from contracts.problems import Problem
from ledger.domain.errors import NotFound
from ledger.domain.money import ISO_4217_EXPONENTS
from projections import queries
from projections.attribution import programme_figures
from projections.exports.source import notes
from projections.figures import donor_numbers, group_numbers, school_numbers, trial_balance_of
from projections.moments import as_utc
from projections.pending import pending_totals, pending_view
from projections.queries import Cut, JournalFilter
from projections.service import ReadSide

router = APIRouter(
    prefix="/v1",
    tags=["balances"],
    responses={
        404: {"model": Problem, "description": "Unknown school, donor or programme"},
        422: {"model": Problem, "description": "Invalid query parameters"},
        503: {"model": Problem, "description": "Read models behind min_position after waiting"},
    },
)

CODE = r"^[a-z0-9][a-z0-9-]{1,63}$"
# Log positions are 64-bit integers in both stores; a larger cursor overflowed SQLite (a 500).
MAX_POSITION = 2**63 - 1


def read_side(
    request: Request,
    consistency: Annotated[
        Literal["read-your-writes", "eventual"],
        Query(
            description="read-your-writes (default): wait, at most the server's read wait, "
            "until the read models reach the log head as it was when the request arrived, so "
            "every entry recorded before it is included. eventual: answer from wherever the "
            "read models are now (the answer's `position` says where)."
        ),
    ] = "read-your-writes",
) -> ReadSide:
    rs: ReadSide = request.app.state.read_side
    return rs if consistency == "read-your-writes" else rs.eventual


def current_read_side(request: Request) -> ReadSide:
    """For questions about the read side itself (status): never waits for the head."""
    rs: ReadSide = request.app.state.read_side
    return rs.eventual


def cut(
    as_of: Annotated[
        dt.date | None, Query(description="Value-date cut-off: what was true on that day.")
    ] = None,
    known_at: Annotated[
        dt.datetime | None,
        Query(description="Recorded-at cut-off: what the ledger showed then (UTC if no offset)."),
    ] = None,
) -> Cut:
    return Cut(as_of=as_of, known_at=as_utc(known_at) if known_at is not None else None)


RS = Annotated[ReadSide, Depends(read_side)]
C = Annotated[Cut, Depends(cut)]
MinPosition = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_POSITION,
        description="Wait (bounded) until the read models reflect this log position.",
    ),
]
EntryKind = Literal[
    "commitment", "disbursement", "reduction", "expenditure", "operating-cost", "in-kind",
    "reversal",
]  # fmt: skip
CodeP = Annotated[str, Path(pattern=CODE, description="Stable code.")]


ACCOUNT_CURSOR = r"^[^|]{1,255}\|[A-Z]{3}$"
AccountAfter = Annotated[
    str | None,
    Query(
        pattern=ACCOUNT_CURSOR,
        description="Cursor: balances after this account|currency (the previous next_after).",
    ),
]
AccountLimit = Annotated[
    int, Query(ge=1, le=5000, description="Page size: account balances (at most 5000).")
]


def _page(
    accounts: list[AccountBalance], after: str | None, limit: int
) -> tuple[list[AccountBalance], str | None]:
    """The accounts after the cursor, at most ``limit``, and the next cursor."""
    if after is not None:
        account, _, currency = after.rpartition("|")
        accounts = [a for a in accounts if (a.account, a.currency) > (account, currency)]
    page = accounts[:limit]
    more = len(accounts) > limit
    return page, f"{page[-1].account}|{page[-1].currency}" if more else None


@router.get("/balances/accounts", response_model=AccountBalances)
async def account_balances(
    rs: RS,
    c: C,
    min_position: MinPosition = None,
    prefix: Annotated[
        str | None, Query(max_length=200, description="Account prefix, e.g. schools:x:")
    ] = None,
    after: AccountAfter = None,
    limit: AccountLimit = 1000,
) -> AccountBalances:
    async with rs.read(min_position) as r:
        rows = await queries.account_balances(r.conn, r.tables, prefix, c)
    accounts = [AccountBalance(account=a, currency=cur, balance=b) for a, cur, b in rows if b]
    page, next_after = _page(accounts, after, limit)
    return AccountBalances(
        position=r.position,
        as_of=c.as_of,
        known_at=c.known_at,
        accounts=page,
        next_after=next_after,
    )


@router.get("/balances/trial-balance", response_model=TrialBalance)
async def trial_balance(
    rs: RS,
    c: C,
    min_position: MinPosition = None,
    after: AccountAfter = None,
    limit: AccountLimit = 1000,
) -> TrialBalance:
    """Totals over every account; the accounts themselves in pages."""
    async with rs.read(min_position) as r:
        rows = await queries.account_balances(r.conn, r.tables, None, c)
    tb = trial_balance_of(rows, r.position, c.as_of, c.known_at)
    tb.accounts, tb.next_after = _page(tb.accounts, after, limit)
    return tb


@router.get("/balances/schools/{code}", response_model=SchoolBalance)
async def school_balance(
    code: CodeP, rs: RS, c: C, min_position: MinPosition = None
) -> SchoolBalance:
    async with rs.read(min_position) as r:
        school = await queries.registry_row(r.conn, r.tables.schools, code)
        if school is None:
            raise NotFound(f"school {code!r} not found")
        rows = await queries.school_rows(r.conn, r.tables, code, c)
        pending = await pending_totals(r.conn, r.tables, "school", code, c)
    numbers = school_numbers(code, rows)
    figures = [
        SchoolFigures(
            currency=currency,
            committed=n.committed,
            received=n.received,
            outstanding_commitment=n.outstanding,
            spent=n.spent,
            spent_by_category=n.spent_by_category,
            cash_on_hand=n.cash,
            in_kind_received=n.in_kind,
            in_kind_by_kind=n.in_kind_by_kind,
        )
        for currency, n in numbers.items()
    ]
    return SchoolBalance(
        position=r.position,
        as_of=c.as_of,
        known_at=c.known_at,
        code=code,
        name=school["name"],
        school_type=school["school_type"],
        region=school["region"],
        district=school["district"],
        hub=school["hub"],
        figures=figures,
        pending=pending_view(pending, {c: n.outstanding for c, n in numbers.items()}),
    )


@router.get("/balances/donors/{code}", response_model=DonorBalance)
async def donor_balance(
    code: CodeP, rs: RS, c: C, min_position: MinPosition = None
) -> DonorBalance:
    async with rs.read(min_position) as r:
        donor = await queries.registry_row(r.conn, r.tables.donors, code)
        if donor is None:
            raise NotFound(f"donor {code!r} not found")
        rows = await queries.donor_rows(r.conn, r.tables, code, c)
        funded = await queries.schools_funded(r.conn, r.tables, code, c)
        pending = await pending_totals(r.conn, r.tables, "donor", code, c)
    numbers = donor_numbers(code, rows)
    figures = [
        DonorFigures(
            currency=currency,
            committed=n.committed,
            disbursed=n.disbursed,
            undisbursed_commitment=n.undisbursed,
            operating_costs_covered=n.operating,
            in_kind_given=n.in_kind,
        )
        for currency, n in numbers.items()
    ]
    return DonorBalance(
        position=r.position,
        as_of=c.as_of,
        known_at=c.known_at,
        code=code,
        name=donor["name"],
        schools_funded=funded,
        figures=figures,
        pending=pending_view(pending, {c: n.undisbursed for c, n in numbers.items()}),
    )


async def _groups(rs: ReadSide, c: Cut, column: str, min_position: int | None) -> GroupBalances:
    async with rs.read(min_position) as r:
        if column == "programme":
            # One attribution rule for every programme figure (see projections.attribution).
            attributed = await programme_figures(r.conn, r.tables, c)
            groups, counts = attributed.rows, attributed.schools
        else:
            groups = await queries.group_rows(r.conn, r.tables, column, c)
            counts = await queries.school_counts(r.conn, r.tables)
    rows = [
        GroupTotals(
            key=key,
            currency=currency,
            committed=n.committed,
            disbursed=n.disbursed,
            spent=n.spent,
            cash_on_hand=n.cash,
            operating_costs=n.operating,
            in_kind=n.in_kind,
            schools=counts.get(key, 0),
        )
        for key, group in sorted(groups.items())
        for currency, n in group_numbers(group).items()
    ]
    return GroupBalances(position=r.position, as_of=c.as_of, known_at=c.known_at, groups=rows)


@router.get("/balances/regions", response_model=GroupBalances)
async def region_balances(rs: RS, c: C, min_position: MinPosition = None) -> GroupBalances:
    return await _groups(rs, c, "region", min_position)


@router.get("/balances/programmes", response_model=GroupBalances)
async def programme_balances(rs: RS, c: C, min_position: MinPosition = None) -> GroupBalances:
    return await _groups(rs, c, "programme", min_position)


@router.get("/journal", response_model=JournalPage)
async def journal(
    rs: RS,
    min_position: MinPosition = None,
    school: Annotated[str | None, Query(pattern=CODE)] = None,
    donor: Annotated[str | None, Query(pattern=CODE)] = None,
    programme: Annotated[str | None, Query(pattern=CODE)] = None,
    grant_id: Annotated[str | None, Query(pattern=r"^[0-9a-f-]{36}$")] = None,
    kind: Annotated[
        list[EntryKind] | None,
        Query(max_length=8, description="Only entries of these kinds (repeatable)."),
    ] = None,
    account_prefix: Annotated[str | None, Query(max_length=200)] = None,
    date_from: Annotated[dt.date | None, Query(alias="from")] = None,
    date_to: Annotated[dt.date | None, Query(alias="to")] = None,
    after: Annotated[
        int, Query(ge=0, le=MAX_POSITION, description="Cursor: entries after this position.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JournalPage:
    f = JournalFilter(
        school, donor, programme, grant_id, account_prefix, date_from, date_to, after, limit,
        kinds=tuple(kind or ()),
    )  # fmt: skip
    async with rs.read(min_position) as r:
        rows = await queries.journal(r.conn, r.tables, f)
    entries = [
        JournalEntry(
            entry_id=e["entry_id"],
            position=e["position"],
            kind=e["kind"],
            value_date=e["value_date"],
            recorded_at=as_utc(e["recorded_at"]),
            actor=e["actor"],
            amount=e["amount"],
            currency=e["currency"],
            grant_id=e["grant_id"],
            donor=e["donor"],
            school=e["school"],
            programme=e["programme"],
            category=e["category"],
            reference=e["reference"],
            reason=e["reason"],
            reverses=e["reverses"],
            reversed_by=e["reversed_by"],
            **notes(e),
            postings=[Posting(account=a, amount=amt, currency=cur) for a, amt, cur in legs],
        )
        for e, legs in rows
    ]
    next_after = entries[-1].position if len(entries) == limit else None
    return JournalPage(
        position=r.position, as_of=None, known_at=None, entries=entries, next_after=next_after
    )


@router.get("/currencies", response_model=Currencies)
async def currencies() -> Currencies:
    """Amounts in this API are integer minor units; this says how to show them."""
    return Currencies(
        currencies=[CurrencyUnit(code=c, exponent=e) for c, e in sorted(ISO_4217_EXPONENTS.items())]
    )


@router.get("/projections/status", response_model=ProjectionsStatus)
async def projections_status(
    rs: Annotated[ReadSide, Depends(current_read_side)],
) -> ProjectionsStatus:
    return ProjectionsStatus(projections=[ProjectionStatus.model_validate(await rs.status())])
