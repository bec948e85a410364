"""Versioned payload models, one per public event type and schema version.

A payload carries the facts of the event; who recorded it, the idempotency key and the
legs travel in the envelope (``EventRecord``) because every financial event has them.
A version, once published, never changes: a new field means a new version beside it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from contracts.events.stored import STORED_TYPES

SCHEMA_BASE = "urn:grant-ledger:event"


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_ENTRY = "Journal entry id (UUID) this fact created."
_AMOUNT = "Minor units of the currency (tiyn for KZT), a positive integer."
_CUR = "ISO 4217 code."
_VDATE = "When the money moved (from the payment order or invoice)."


class ProgrammeRegisteredV1(Payload):
    code: str = Field(description="Programme code.")
    name: str = Field(description="Programme name.")


class SchoolRegisteredV1(Payload):
    code: str = Field(description="School code.")
    name: str = Field(description="School name.")
    school_type: str = Field(description="hub or small.")
    region: str = Field(description="Region slug.")
    district: str = Field(description="District or town.")
    hub_code: str | None = Field(description="The hub school of a small school.")


class DonorRegisteredV1(Payload):
    code: str = Field(description="Donor code.")
    name: str = Field(description="Donor name.")


class DonorRegisteredV2(Payload):
    code: str = Field(description="Donor code.")
    name: str = Field(description="Donor name.")
    kind: str = Field(
        description="fund, holding, network, government or other; 'unspecified' for a donor "
        "recorded under v1 (upcast)."
    )


class SchoolAccountOpenedV1(Payload):
    school: str = Field(description="School code the account belongs to.")


class FundsMovedV1(Payload):
    entry_id: str = Field(description="The disbursement (received) or its reversal (withdrawn).")
    amount: StrictInt = Field(description=_AMOUNT)
    currency: str = Field(description=_CUR)


class ExpenditureRecordedV1(Payload):
    entry_id: str = Field(description=_ENTRY)
    amount: StrictInt = Field(description=_AMOUNT)
    currency: str = Field(description=_CUR)
    category: str = Field(description="Expenditure category, e.g. equipment.")
    value_date: dt.date = Field(description=_VDATE)
    reference: str = Field(description="Invoice or payment order.")
    description: str = Field(description="What was bought.")


_FROM_GRANT = "The grant (to this school) the money came from, or null."
_FROM_PROGRAMME = (
    "The programme the entry counts under: the one named, or the named grant's; null when "
    "neither was named (the attribution rule places it) or the named grant has none."
)


class ExpenditureRecordedV2(ExpenditureRecordedV1):
    from_grant: str | None = Field(description=_FROM_GRANT)
    from_programme: str | None = Field(description=_FROM_PROGRAMME)


class OperatingCostCoveredV1(Payload):
    entry_id: str = Field(description=_ENTRY)
    amount: StrictInt = Field(description=_AMOUNT)
    currency: str = Field(description=_CUR)
    category: str = Field(description="Operating cost category, e.g. salaries.")
    programme: str | None = Field(description="Programme code, if attributed.")
    value_date: dt.date = Field(description=_VDATE)
    reference: str = Field(description="Payment order.")
    description: str = Field(description="What the cost was.")


class InKindContributedV1(Payload):
    entry_id: str = Field(description=_ENTRY)
    kind: str = Field(description="Kind of contribution, e.g. teacher-training.")
    fair_value: StrictInt = Field(description="Stated fair value, minor units.")
    currency: str = Field(description=_CUR)
    valuation_basis: str = Field(description="How the fair value was determined.")
    quantities: dict[str, StrictInt] = Field(description="teachers_trained, hours, courses...")
    school: str | None = Field(description="Receiving school code, or null.")
    programme: str | None = Field(description="Receiving programme code, or null.")
    value_date: dt.date = Field(description="When the contribution was delivered.")


class InKindContributedV2(InKindContributedV1):
    from_grant: str | None = Field(description=_FROM_GRANT + " Only for a gift to a school.")
    from_programme: str | None = Field(description=_FROM_PROGRAMME)


class GrantCommittedV1(Payload):
    entry_id: str = Field(description=_ENTRY)
    donor: str = Field(description="Donor code.")
    school: str = Field(description="School code.")
    programme: str | None = Field(description="Programme code.")
    amount: StrictInt = Field(description=_AMOUNT)
    currency: str = Field(description=_CUR)
    value_date: dt.date = Field(description="Date of the grant agreement.")
    reference: str = Field(description="Grant agreement number.")


class GrantDisbursedV1(Payload):
    entry_id: str = Field(description=_ENTRY)
    amount: StrictInt = Field(description=_AMOUNT)
    currency: str = Field(description=_CUR)
    value_date: dt.date = Field(description=_VDATE)
    payment_reference: str = Field(description="Payment order number.")


class GrantReducedV1(Payload):
    entry_id: str = Field(description=_ENTRY)
    amount: StrictInt = Field(description=_AMOUNT)
    currency: str = Field(description=_CUR)
    value_date: dt.date = Field(description="When the reduction took effect.")
    reason: str = Field(description="Why the commitment was reduced or cancelled.")


class EntryReversedV1(Payload):
    entry_id: str = Field(description="The entry reversed.")
    reversal_entry_id: str = Field(description="The reversal's own entry id.")
    value_date: dt.date = Field(description="Value date of the reversal.")
    reason: str = Field(description="Why the original was wrong.")


class EntryLocatorRegisteredV1(Payload):
    entry_id: str = Field(description="Entry id.")
    kind: str = Field(description="Entry kind, e.g. disbursement.")
    owner_type: str = Field(description="Aggregate type owning the entry (Grant, Donor...).")
    owner_id: str = Field(description="Stream id of the owning aggregate.")
    reverses: str | None = Field(description="For a reversal: the entry it reverses.")


class DisbursementRequestedV1(Payload):
    entry_id: str = Field(description="Entry id the disbursement will post under if approved.")
    amount: StrictInt = Field(description=_AMOUNT)
    currency: str = Field(description=_CUR)
    value_date: dt.date = Field(description=_VDATE)
    payment_reference: str = Field(description="Payment order number.")
    expires_at: dt.datetime = Field(description="Approval is refused after this moment.")


class DisbursementApprovedV1(Payload):
    entry_id: str = Field(description="The pending disbursement, now posted.")
    amount: StrictInt = Field(description=_AMOUNT)
    currency: str = Field(description=_CUR)
    value_date: dt.date = Field(description=_VDATE)
    payment_reference: str = Field(description="Payment order number.")
    requested_by: str = Field(description="Who requested it (never the approver).")
    reason: str = Field(description="The approver's reason.")


class DisbursementRejectedV1(Payload):
    entry_id: str = Field(description="The pending disbursement, released.")
    requested_by: str = Field(description="Who requested it.")
    reason: str = Field(description="Why it was rejected.")


class DisbursementExpiredV1(Payload):
    entry_id: str = Field(description="The pending disbursement, released unapproved.")
    expires_at: dt.datetime = Field(description="The deadline that passed.")


class FiscalCalendarStartedV1(Payload):
    """The calendar of closed periods came into being (its first close)."""


class PeriodClosedV1(Payload):
    period: str = Field(description="YYYY-MM or YYYY-Qn.")
    start: dt.date = Field(description="First day of the period.")
    end: dt.date = Field(description="Last day of the period.")
    reason: str = Field(description="Why the books were closed.")


class PeriodReopenedV1(Payload):
    period: str = Field(description="YYYY-MM or YYYY-Qn.")
    reason: str = Field(description="Why the closed period was reopened.")


class IdempotencyKeyClaimedV1(Payload):
    key: str = Field(description="The Idempotency-Key of the request.")
    command: str = Field(description="Command name.")
    fingerprint: str = Field(description="SHA-256 of the request's canonical arguments.")
    response: dict[str, Any] = Field(description="What the first request answered.")


_IIK = "The account number (IBAN form: KZ, 2 check digits, 16 characters)."
_PARTY_KIND = "school or donor: the kind of party holding the account."
_PARTY = "Code of the school or donor holding the account."


class BankAccountHeldV1(Payload):
    iik: str = Field(description=_IIK)
    party_kind: str = Field(description=_PARTY_KIND)
    party: str = Field(description=_PARTY)
    bic: str = Field(description="The bank's BIC (SWIFT code), e.g. HSBKKZKX.")
    bin: str = Field(description="BIN (organisation) or IIN (person) of the holder, 12 digits.")
    kbe: str | None = Field(description="Beneficiary code (residency and economic sector).")
    valid_from: dt.date = Field(description="First day these details are valid.")


class BankAccountClosedV1(Payload):
    iik: str = Field(description=_IIK)
    party_kind: str = Field(description=_PARTY_KIND)
    party: str = Field(description=_PARTY)
    valid_to: dt.date = Field(description="Last day the account was the party's.")
    reason: str = Field(description="Why it was closed.")


class BankAccountListedV1(Payload):
    party_kind: str = Field(description=_PARTY_KIND)
    party: str = Field(description=_PARTY)
    iik: str = Field(description=_IIK)


class ImportRecordedV1(Payload):
    import_id: str = Field(description="Id of the import run (UUID).")
    file_name: str = Field(description="The uploaded file's name.")
    sha256: str = Field(description="SHA-256 of the uploaded bytes (hex).")
    size: StrictInt = Field(description="Bytes uploaded.")
    format: str = Field(description="1c-statement, register-xlsx or register-csv.")
    kind: str | None = Field(description="Register kind (disbursements, expenditures, ...).")
    period_start: dt.date | None = Field(description="First day the statement covers.")
    period_end: dt.date | None = Field(description="Last day the statement covers.")
    accounts: list[str] = Field(description="The statement's own IIKs.")
    atomic: bool = Field(description="All rows or none (false: per-row mode).")
    rows: StrictInt = Field(description="Rows or documents read from the file.")
    recorded: StrictInt = Field(description="Rows recorded by this import.")
    replayed: StrictInt = Field(description="Rows recorded earlier (same bank payment).")
    refused: StrictInt = Field(description="Rows refused or left for a decision.")
    school: str | None = Field(description="The school whose statement it is, if known.")
    donor: str | None = Field(description="The donor whose statement it is, if known.")


class BankMonthOpenedV1(Payload):
    iik: str = Field(description=_IIK)
    month: str = Field(description="YYYY-MM: the month whose statement lines it keeps.")


class BankLineV1(Payload):
    key: str = Field(description="The payment's key (payer's account, number, date, amount).")
    number: str | None = Field(description="Document number.")
    date: str | None = Field(description="Document date (YYYY-MM-DD).")
    amount: StrictInt | None = Field(description=_AMOUNT)
    currency: str = Field(description=_CUR)
    direction: str = Field(description="in (received by the account) or out (paid from it).")
    counterparty_iik: str | None = Field(description="The other side's IIK.")
    counterparty_name: str | None = Field(description="The other side's name.")
    knp: str | None = Field(description="Payment purpose code (KNP).")
    purpose: str | None = Field(description="Payment purpose text.")


class BankMonthReceivedV1(Payload):
    iik: str = Field(description=_IIK)
    month: str = Field(description="YYYY-MM.")
    lines: list[BankLineV1] = Field(description="Statement lines not known before.")
    balances: dict[str, StrictInt] = Field(
        description="Stated balances: 'YYYY-MM-DD:opening' or ':closing' -> minor units."
    )
    import_sha256: str = Field(description="SHA-256 of the statement file that said so.")


class BankLineExplainedV1(Payload):
    iik: str = Field(description=_IIK)
    month: str = Field(description="YYYY-MM.")
    key: str = Field(description="The statement line's key.")
    reason: str = Field(description="Why the line is not an entry of the ledger.")


@dataclass(frozen=True)
class PublicType:
    name: str
    version: int
    model: type[Payload]
    description: str

    @property
    def schema_file(self) -> str:
        return f"{self.name}.v{self.version}.json"


def _t(name: str, version: int, model: type[Payload], description: str) -> PublicType:
    return PublicType(name, version, model, description)


# Every published (type, version). The feed serves each event under its type's newest
# version: older stored events are upcast on read.
CATALOGUE: tuple[PublicType, ...] = (
    _t("programme.registered", 1, ProgrammeRegisteredV1, "A programme entered the registry."),
    _t("school.registered", 1, SchoolRegisteredV1, "A hub or small school entered the registry."),
    _t("donor.registered", 1, DonorRegisteredV1, "A donor entered the registry (superseded)."),
    _t("donor.registered", 2, DonorRegisteredV2, "A donor entered the registry, with its kind."),
    _t("school-account.opened", 1, SchoolAccountOpenedV1, "A school's cash account opened."),
    _t("school-account.funds-received", 1, FundsMovedV1, "Cash arrived from a disbursement."),
    _t("school-account.funds-withdrawn", 1, FundsMovedV1, "Cash left by a disbursement reversal."),
    _t("expenditure.recorded", 1, ExpenditureRecordedV1, "A school spent cash (superseded)."),
    _t(
        "expenditure.recorded",
        2,
        ExpenditureRecordedV2,
        "A school spent cash, naming the grant or programme it came from, if it did.",
    ),
    _t("operating-cost.covered", 1, OperatingCostCoveredV1, "A donor paid an operating cost."),
    _t("in-kind.contributed", 1, InKindContributedV1, "A donor contributed in kind (superseded)."),
    _t(
        "in-kind.contributed",
        2,
        InKindContributedV2,
        "A donor contributed in kind, naming the grant or programme a gift to a school counts "
        "under, if it did.",
    ),
    _t("grant.committed", 1, GrantCommittedV1, "A donor committed a grant to a school."),
    _t("grant.disbursed", 1, GrantDisbursedV1, "Cash paid out against a grant."),
    _t("grant.reduced", 1, GrantReducedV1, "An undisbursed commitment reduced or cancelled."),
    _t("entry.reversed", 1, EntryReversedV1, "An entry reversed by a new, opposite entry."),
    _t("entry-locator.registered", 1, EntryLocatorRegisteredV1, "Index: entry id to owner."),
    _t("idempotency-key.claimed", 1, IdempotencyKeyClaimedV1, "A request's key and answer."),
    _t("disbursement.requested", 1, DisbursementRequestedV1, "Above the threshold: reserved."),
    _t("disbursement.approved", 1, DisbursementApprovedV1, "A second person approved: posted."),
    _t("disbursement.rejected", 1, DisbursementRejectedV1, "Rejected: reservation released."),
    _t("disbursement.expired", 1, DisbursementExpiredV1, "Not approved in time: released."),
    _t("fiscal-calendar.started", 1, FiscalCalendarStartedV1, "The period calendar began."),
    _t("period.closed", 1, PeriodClosedV1, "A month or quarter closed for entries."),
    _t("period.reopened", 1, PeriodReopenedV1, "A closed period reopened, with a reason."),
    _t("bank-account.registered", 1, BankAccountHeldV1, "A party's bank account registered."),
    _t("bank-account.reassigned", 1, BankAccountHeldV1, "A closed IIK registered to a party."),
    _t("bank-account.changed", 1, BankAccountHeldV1, "New bank details, valid from a date."),
    _t("bank-account.closed", 1, BankAccountClosedV1, "A bank account closed, with a reason."),
    _t("bank-account-list.started", 1, BankAccountListedV1, "Index: a party's first IIK."),
    _t("bank-account-list.added", 1, BankAccountListedV1, "Index: another IIK of a party."),
    _t("import.recorded", 1, ImportRecordedV1, "A bank statement or register was imported."),
    _t("bank-month.opened", 1, BankMonthOpenedV1, "An account's month of statement lines."),
    _t("bank-month.received", 1, BankMonthReceivedV1, "Statement lines and balances received."),
    _t("bank-line.explained", 1, BankLineExplainedV1, "A line only in the bank, explained."),
)

# Every stored type is published and nothing is published that is never stored: a new
# event class fails here at import, before any consumer meets it.
_unmatched = {t.public for t in STORED_TYPES} ^ {t.name for t in CATALOGUE}
if _unmatched:
    msg = f"stored types and published types differ: {sorted(_unmatched)}"
    raise RuntimeError(msg)


def schema_documents() -> dict[str, dict[str, Any]]:
    """The JSON Schema document of every published version, by file name."""
    out: dict[str, dict[str, Any]] = {}
    for t in CATALOGUE:
        doc = t.model.model_json_schema()
        doc = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{SCHEMA_BASE}:{t.name}:v{t.version}",
            **doc,
            "title": f"{t.name} v{t.version}",
            "description": t.description,
        }
        out[t.schema_file] = doc
    return out


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
