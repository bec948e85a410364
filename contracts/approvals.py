"""API models of maker-checker: pending disbursements and the decisions on them."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from contracts.balances import ReadMeta
from contracts.common import Command, Reason, View
from contracts.entries import EntryRecorded, GrantEntryRecorded


class DecideDisbursement(Command):
    reason: Reason


class DisbursementPending(GrantEntryRecorded):
    status: Literal["pending"] = Field(
        description="Above the approval threshold: reserved, waiting for a second person."
    )
    expires_at: dt.datetime = Field(
        description="After this moment it can no longer be approved; the reservation is "
        "released by an expiry event."
    )


class DisbursementDecided(EntryRecorded):
    grant_id: str = Field(description="The grant the disbursement belongs to.")
    status: Literal["approved", "rejected"] = Field(
        description="approved: the legs are posted under entry_id; rejected: released."
    )


class PendingDisbursement(View):
    entry_id: str = Field(description="Entry id; the posted disbursement keeps it.")
    position: int = Field(description="Log position of the request.")
    grant_id: str = Field(description="Grant id.")
    donor: str = Field(description="Donor code.")
    school: str = Field(description="School code.")
    programme: str | None = Field(description="Programme code.")
    currency: str = Field(description="ISO 4217 code.")
    amount: int = Field(description="Minor units reserved.")
    value_date: dt.date = Field(description="Value date of the payment order.")
    payment_reference: str = Field(description="Payment order reference.")
    requested_by: str = Field(description="The maker; they cannot approve it.")
    requested_at: dt.datetime = Field(description="When it was requested (UTC).")
    expires_at: dt.datetime = Field(description="Approval deadline (UTC).")
    status: str = Field(description="pending, approved, rejected or expired.")
    decided_by: str | None = Field(description="Approver, rejecter, or the expiry sweeper.")
    decided_at: dt.datetime | None = Field(description="When it was decided (UTC).")
    decision_reason: str | None = Field(description="The decision's reason.")


class PendingPage(ReadMeta):
    items: list[PendingDisbursement] = Field(description="Items in log order.")
    next_after: int | None = Field(description="Pass as `after` for the next page; null at end.")
