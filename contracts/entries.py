"""API models for the financial commands: grants, disbursements, spending, in kind, reversals."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field, StrictInt, model_validator

from contracts.common import (
    MULTI_LINE,
    AmountMinor,
    Code,
    Command,
    Currency,
    Description,
    IsoDate,
    Reason,
    Reference,
    Slug,
    View,
)


class CommitGrant(Command):
    donor: Code = Field(description="Code of the donor committing the funds.")
    school: Code = Field(description="Code of the school receiving the grant.")
    programme: Code | None = Field(default=None, description="Programme the grant belongs to.")
    amount: AmountMinor
    currency: Currency = "KZT"
    value_date: IsoDate = Field(description="Date the commitment takes effect (YYYY-MM-DD).")
    reference: Reference


class Disburse(Command):
    amount: AmountMinor
    currency: Currency = "KZT"
    value_date: IsoDate = Field(description="Date of the payment order (YYYY-MM-DD).")
    payment_reference: Reference


class ReduceGrant(Command):
    amount: AmountMinor
    value_date: IsoDate = Field(description="Date the reduction takes effect.")
    reason: Reason


class CancelGrant(Command):
    value_date: IsoDate = Field(description="Date the cancellation takes effect.")
    reason: Reason


class SpentFrom(Command):
    """Where the money came from, if the entry says: its programme figures then count
    under that programme instead of the attribution rule's."""

    from_grant: UUID | None = Field(
        default=None,
        description="The grant (to this school) the money came from; the entry counts under "
        "the grant's programme, or under none if the grant names none.",
    )
    from_programme: Code | None = Field(
        default=None,
        description="The programme the money came from. Give at most one of from_grant and "
        "from_programme; with neither, the entry is attributed by the README's rule.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> SpentFrom:
        if self.from_grant is not None and self.from_programme is not None:
            msg = "give at most one of from_grant or from_programme"
            raise ValueError(msg)
        return self


class RecordExpenditure(SpentFrom):
    amount: AmountMinor
    currency: Currency = "KZT"
    category: Slug = Field(description="Spending category, e.g. equipment, connectivity.")
    value_date: IsoDate = Field(description="Date the money left the school's account.")
    reference: Reference
    description: Description = ""


class CoverOperatingCost(Command):
    donor: Code = Field(description="Donor covering the cost (e.g. aitas).")
    amount: AmountMinor
    currency: Currency = "KZT"
    category: Slug = Field(description="Operating cost category, e.g. salaries, monitoring.")
    programme: Code | None = Field(default=None, description="Programme the cost belongs to.")
    value_date: IsoDate = Field(description="Date of payment.")
    reference: Reference
    description: Description = ""


class Quantities(Command):
    teachers_trained: StrictInt | None = Field(default=None, ge=0, le=10**9)
    hours: StrictInt | None = Field(default=None, ge=0, le=10**9)
    courses: StrictInt | None = Field(default=None, ge=0, le=10**9)
    participants: StrictInt | None = Field(default=None, ge=0, le=10**9)
    schools_reached: StrictInt | None = Field(default=None, ge=0, le=10**9)


class ContributeInKind(SpentFrom):
    donor: Code = Field(description="Donor giving in kind (e.g. nis).")
    kind: Slug = Field(description="What was given, e.g. teacher-training.")
    fair_value: AmountMinor
    currency: Currency = "KZT"
    valuation_basis: str = Field(
        min_length=1,
        max_length=500,
        pattern=MULTI_LINE,
        description="How the fair value was determined.",
    )
    quantities: Quantities = Field(
        default_factory=Quantities, description="Measured quantities of the contribution."
    )
    school: Code | None = Field(default=None, description="Receiving school (or programme).")
    programme: Code | None = Field(default=None, description="Receiving programme (or school).")
    value_date: IsoDate = Field(description="Date the contribution was delivered.")

    @model_validator(mode="after")
    def _one_recipient(self) -> ContributeInKind:
        if (self.school is None) == (self.programme is None):
            msg = "give exactly one of school or programme"
            raise ValueError(msg)
        if self.programme is not None and (self.from_grant or self.from_programme):
            msg = (
                "in kind given to a programme counts under it: from_grant and "
                "from_programme are for gifts to a school"
            )
            raise ValueError(msg)
        return self


class ReverseEntry(Command):
    reason: Reason
    value_date: IsoDate | None = Field(
        default=None,
        description="Date of the reversal, never before the value date of the entry it "
        "reverses; defaults to today in the programme's time zone (Asia/Almaty), or to that "
        "entry's value date when it is later.",
    )


class EntryRecorded(View):
    entry_id: str = Field(description="Id of the new journal entry.")
    position: int = Field(description="Position in the event log after which it is visible.")


class GrantCommitted(EntryRecorded):
    grant_id: str = Field(description="Id of the new grant.")


class GrantEntryRecorded(EntryRecorded):
    grant_id: str = Field(description="The grant the entry belongs to.")


class GrantReduced(GrantEntryRecorded):
    amount: int = Field(description="Minor units by which the commitment was reduced.")


class ReversalRecorded(EntryRecorded):
    reverses: str = Field(description="Id of the entry this reversal reverses.")


class GrantEntryView(View):
    entry_id: str = Field(description="Journal entry id.")
    kind: str = Field(description="commitment, disbursement, reduction or reversal.")
    amount: int = Field(description="Minor units.")
    reversed_by: str | None = Field(description="Id of the reversing entry, if reversed.")


class GrantView(View):
    grant_id: str = Field(description="Grant id.")
    donor: str = Field(description="Donor code.")
    school: str = Field(description="School code.")
    programme: str | None = Field(description="Programme code.")
    currency: str = Field(description="Currency fixed at commitment.")
    committed: int = Field(description="Current commitment in minor units (after reductions).")
    disbursed: int = Field(description="Disbursed so far, minor units.")
    undisbursed: int = Field(description="Committed minus disbursed, minor units.")
    reserved: int = Field(
        description="Part of undisbursed held by disbursements awaiting approval, minor units."
    )
    pending_items: int = Field(description="How many disbursements await approval.")
    available: int = Field(
        description="undisbursed - reserved: what a new disbursement or reduction may use."
    )
    entries: list[GrantEntryView] = Field(description="The grant's journal entries.")
    version: int = Field(description="Aggregate version; also sent as the ETag.")
