"""Every recording route once: its path, body, command and answer.

The single routes and the batch route both go through this table, so an item of a
batch is validated, authorized, decided and answered exactly as the single request
would have been: one code path for each rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import BaseModel, TypeAdapter

from contracts import approvals as api_approvals
from contracts import bank_accounts as api_bank
from contracts import entries as api_entries
from contracts import periods as api_periods
from contracts import reconciliation as api_reconciliation
from contracts import registry as api_registry
from ledger.application import approval_commands as approvals
from ledger.application import bank_commands as bank
from ledger.application import entry_commands as entries
from ledger.application import grant_commands as grants
from ledger.application import period_commands as periods
from ledger.application import registry_commands as registry
from ledger.application import statement_commands as statements
from ledger.application.command import Command
from ledger.application.results import Pending
from ledger.application.unit_of_work import Recorded
from ledger.domain.periods import PERIOD_PATTERN

CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,63}$"
IIK_PATH_PATTERN = r"^[A-Za-z0-9]{20}$"

# How each path parameter is read: the same types the single routes declare.
PARAMS: dict[str, TypeAdapter[Any]] = {
    "grant_id": TypeAdapter(UUID),
    "entry_id": TypeAdapter(UUID),
    "code": TypeAdapter(str),
    "period": TypeAdapter(str),
    "iik": TypeAdapter(str),
}
PARAM_PATTERNS = {
    "code": re.compile(CODE_PATTERN),
    "period": re.compile(PERIOD_PATTERN),
    "iik": re.compile(IIK_PATH_PATTERN),
}

Build = Callable[[dict[str, Any], Any], Command]


@dataclass(frozen=True)
class Recording:
    """One recording route."""

    template: str
    body: type[BaseModel]
    build: Build
    answer: type[BaseModel]
    # A second answer for a command with two outcomes (a disbursement that waits).
    pending: type[BaseModel] | None = None
    location: str | None = None

    def respond(self, recorded: Recorded) -> tuple[int, BaseModel]:
        values = {**recorded.response, "position": recorded.position}
        if self.pending is not None and isinstance(recorded.result, Pending):
            return 202, self.pending(**values)
        return 201, self.answer(**values)


def _dump(body: BaseModel, **extra: Any) -> dict[str, Any]:
    return {**body.model_dump(), **extra}


def _in_kind(p: dict[str, Any], body: Any) -> Command:
    args = body.model_dump(exclude={"quantities"})
    quantities = body.quantities.model_dump(exclude_none=True)
    return entries.ContributeInKind(quantities=quantities, **args)


RECORDINGS: tuple[Recording, ...] = (
    Recording(
        "/v1/donors", api_registry.RegisterDonor,
        lambda p, b: registry.RegisterDonor(**_dump(b)), api_registry.Registered,
        location="/v1/donors/{code}",
    ),
    Recording(
        "/v1/programmes", api_registry.RegisterProgramme,
        lambda p, b: registry.RegisterProgramme(**_dump(b)), api_registry.Registered,
        location="/v1/programmes/{code}",
    ),
    Recording(
        "/v1/schools", api_registry.RegisterSchool,
        lambda p, b: registry.RegisterSchool(**_dump(b)), api_registry.Registered,
        location="/v1/schools/{code}",
    ),
    Recording(
        "/v1/grants", api_entries.CommitGrant,
        lambda p, b: grants.CommitGrant(**_dump(b)), api_entries.GrantCommitted,
        location="/v1/grants/{grant_id}",
    ),
    Recording(
        "/v1/grants/{grant_id}/disbursements", api_entries.Disburse,
        lambda p, b: grants.Disburse(**_dump(b, grant_id=p["grant_id"])),
        api_entries.GrantEntryRecorded, pending=api_approvals.DisbursementPending,
    ),
    Recording(
        "/v1/grants/{grant_id}/reductions", api_entries.ReduceGrant,
        lambda p, b: grants.ReduceGrant(**_dump(b, grant_id=p["grant_id"])),
        api_entries.GrantReduced,
    ),
    Recording(
        "/v1/grants/{grant_id}/cancellation", api_entries.CancelGrant,
        lambda p, b: grants.ReduceGrant(**_dump(b, grant_id=p["grant_id"], amount=None)),
        api_entries.GrantReduced,
    ),
    Recording(
        "/v1/schools/{code}/expenditures", api_entries.RecordExpenditure,
        lambda p, b: entries.RecordExpenditure(**_dump(b, school=p["code"])),
        api_entries.EntryRecorded,
    ),
    Recording(
        "/v1/operating-costs", api_entries.CoverOperatingCost,
        lambda p, b: entries.CoverOperatingCost(**_dump(b)), api_entries.EntryRecorded,
    ),
    Recording(
        "/v1/in-kind-contributions", api_entries.ContributeInKind, _in_kind,
        api_entries.EntryRecorded,
    ),
    Recording(
        "/v1/entries/{entry_id}/reversal", api_entries.ReverseEntry,
        lambda p, b: entries.ReverseEntry(**_dump(b, entry_id=p["entry_id"])),
        api_entries.ReversalRecorded,
    ),
    Recording(
        "/v1/approvals/{entry_id}/approve", api_approvals.DecideDisbursement,
        lambda p, b: approvals.ApproveDisbursement(entry_id=p["entry_id"], reason=b.reason),
        api_approvals.DisbursementDecided,
    ),
    Recording(
        "/v1/approvals/{entry_id}/reject", api_approvals.DecideDisbursement,
        lambda p, b: approvals.RejectDisbursement(entry_id=p["entry_id"], reason=b.reason),
        api_approvals.DisbursementDecided,
    ),
    Recording(
        "/v1/periods/{period}/close", api_periods.PeriodChange,
        lambda p, b: periods.ClosePeriod(period=p["period"], reason=b.reason),
        api_periods.PeriodRecorded,
    ),
    Recording(
        "/v1/periods/{period}/reopen", api_periods.PeriodChange,
        lambda p, b: periods.ReopenPeriod(period=p["period"], reason=b.reason),
        api_periods.PeriodRecorded,
    ),
)  # fmt: skip


def _bank_accounts(plural: str, kind: str) -> tuple[Recording, ...]:
    base = f"/v1/{plural}/{{code}}/bank-accounts"
    return (
        Recording(
            base, api_bank.RegisterBankAccount,
            lambda p, b: bank.RegisterBankAccount(**_dump(b, party_kind=kind, party=p["code"])),
            api_bank.BankAccountRecorded, location="/v1/{party_kind}s/{party}/bank-accounts",
        ),
        Recording(
            base + "/{iik}/changes", api_bank.ChangeBankAccount,
            lambda p, b: bank.ChangeBankAccount(
                **_dump(b, party_kind=kind, party=p["code"], iik=p["iik"])
            ),
            api_bank.BankAccountRecorded,
        ),
        Recording(
            base + "/{iik}/closure", api_bank.CloseBankAccount,
            lambda p, b: bank.CloseBankAccount(
                **_dump(b, party_kind=kind, party=p["code"], iik=p["iik"])
            ),
            api_bank.BankAccountRecorded,
        ),
    )  # fmt: skip


RECORDINGS += (
    *_bank_accounts("schools", "school"),
    *_bank_accounts("donors", "donor"),
    Recording(
        "/v1/reconciliation/explanations", api_reconciliation.ExplainBankLine,
        lambda p, b: statements.ExplainBankLine(**_dump(b)), api_reconciliation.LineExplained,
    ),
)  # fmt: skip

BY_TEMPLATE = {r.template: r for r in RECORDINGS}


def _matcher(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(f"^{pattern}$")


_MATCHERS = [(_matcher(r.template), r) for r in RECORDINGS]


def match(path: str) -> tuple[Recording, dict[str, str]] | None:
    """The recording route a path names, with its raw path parameters."""
    for pattern, recording in _MATCHERS:
        found = pattern.match(path)
        if found:
            return recording, found.groupdict()
    return None
