"""Register, change, close and list the bank accounts of schools and donors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from contracts.bank_accounts import (
    BankAccountList,
    BankAccountRecorded,
    BankAccountView,
    ChangeBankAccount,
    CloseBankAccount,
    Holding,
    PartyKind,
    RegisterBankAccount,
)
from contracts.reconciliation import ExplainBankLine, LineExplained
from ledger.api.deps import Ctx, Ledger
from ledger.api.routes import PROBLEMS, CodePath, record
from ledger.domain.bank_accounts import BankAccount

router = APIRouter(prefix="/v1", tags=["bank accounts"], responses=PROBLEMS)

IikPath = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9]{20}$", description="The IIK, without spaces."),
]

# Both kinds of party hold accounts the same way; the routes differ only in the prefix.
PARTIES: dict[str, PartyKind] = {"schools": "school", "donors": "donor"}


def view(account: BankAccount) -> BankAccountView:
    return BankAccountView(
        iik=account.iik,
        status="open" if account.current is not None else "closed",
        holdings=[
            Holding(
                party_kind="school" if h.party_kind == "school" else "donor",
                party=h.party,
                bic=h.bic,
                bin=h.bin,
                kbe=h.kbe,
                valid_from=h.valid_from,
                valid_to=h.valid_to,
            )
            for h in account.holdings
        ],
        version=account.version,
    )


def _routes(plural: str, kind: PartyKind) -> None:
    base = f"/{plural}/{{code}}/bank-accounts"
    template = "/v1" + base

    @router.post(base, status_code=201, response_model=BankAccountRecorded, name=f"{kind}_account")
    async def register(
        body: RegisterBankAccount, ledger: Ledger, ctx: Ctx, response: Response, code: CodePath
    ) -> BankAccountRecorded:
        return await record(ledger, ctx, template, body, response, code=code)  # type: ignore[no-any-return]

    @router.post(
        base + "/{iik}/changes", response_model=BankAccountRecorded, name=f"{kind}_account_change"
    )
    async def change(
        body: ChangeBankAccount,
        ledger: Ledger,
        ctx: Ctx,
        response: Response,
        code: CodePath,
        iik: IikPath,
    ) -> BankAccountRecorded:
        path = template + "/{iik}/changes"
        return await record(ledger, ctx, path, body, response, code=code, iik=iik)  # type: ignore[no-any-return]

    @router.post(
        base + "/{iik}/closure", response_model=BankAccountRecorded, name=f"{kind}_account_close"
    )
    async def close(
        body: CloseBankAccount,
        ledger: Ledger,
        ctx: Ctx,
        response: Response,
        code: CodePath,
        iik: IikPath,
    ) -> BankAccountRecorded:
        path = template + "/{iik}/closure"
        return await record(ledger, ctx, path, body, response, code=code, iik=iik)  # type: ignore[no-any-return]

    @router.get(base, response_model=BankAccountList, name=f"{kind}_accounts")
    def listing(ledger: Ledger, code: CodePath) -> BankAccountList:
        accounts = ledger.bank_accounts_of(kind, code)
        return BankAccountList(party_kind=kind, party=code, accounts=[view(a) for a in accounts])


for _plural, _kind in PARTIES.items():
    _routes(_plural, _kind)


@router.post(
    "/reconciliation/explanations",
    status_code=201,
    response_model=LineExplained,
    tags=["reconciliation"],
)
async def explain_bank_line(
    body: ExplainBankLine, ledger: Ledger, ctx: Ctx, response: Response
) -> LineExplained:
    """Resolve a line that is only in the bank by saying why (a bank fee, a refund, ...)."""
    path = "/v1/reconciliation/explanations"
    return await record(ledger, ctx, path, body, response)  # type: ignore[no-any-return]
