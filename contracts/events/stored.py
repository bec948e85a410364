"""The one catalogue of stored event types: each stored class, its public name, and the
journal or registry fact it records.

The write side stores events under their class path (the topic); consumers see the public
name, which never changes when code moves. The read side's facts mapper, the audit feed's
public forms and the published contracts all read this table, and a test checks that every
event class the domain can store appears in it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StoredType:
    """One stored event class and what it means outside the write side."""

    topic: str
    public: str
    # The journal entry kind the event records, if it records one.
    entry: str | None = None
    # The registry table it adds a row to, if any.
    registry: str | None = None
    # The status it leaves a pending disbursement in, if it is a four-eyes step.
    pending: str | None = None

    @property
    def name(self) -> str:
        """The class's qualified name: the stable part of the topic that readers match."""
        return self.topic.partition(":")[2]


def _t(
    topic: str,
    public: str,
    *,
    entry: str | None = None,
    registry: str | None = None,
    pending: str | None = None,
) -> StoredType:
    return StoredType(f"ledger.domain.{topic}", public, entry, registry, pending)


STORED_TYPES: tuple[StoredType, ...] = (
    _t("registry:Programme.Registered", "programme.registered", registry="programmes"),
    _t("registry:School.Registered", "school.registered", registry="schools"),
    _t("donor:Donor.Registered", "donor.registered", registry="donors"),
    _t("account:SchoolAccount.Opened", "school-account.opened"),
    _t("account:SchoolAccount.FundsReceived", "school-account.funds-received"),
    _t("account:SchoolAccount.FundsWithdrawn", "school-account.funds-withdrawn"),
    _t("account:SchoolAccount.ExpenditureRecorded", "expenditure.recorded", entry="expenditure"),
    _t("donor:Donor.OperatingCostCovered", "operating-cost.covered", entry="operating-cost"),
    _t("donor:Donor.InKindContributed", "in-kind.contributed", entry="in-kind"),
    _t("grant:Grant.Committed", "grant.committed", entry="commitment"),
    _t("grant:Grant.Disbursed", "grant.disbursed", entry="disbursement"),
    _t("grant:Grant.Reduced", "grant.reduced", entry="reduction"),
    _t("entries:EntryOwner.EntryReversed", "entry.reversed", entry="reversal"),
    _t("entries:EntryLocator.Registered", "entry-locator.registered"),
    _t("idempotency:IdempotencyClaim.Claimed", "idempotency-key.claimed"),
    _t(
        "approvals:PendingDisbursements.DisbursementRequested",
        "disbursement.requested",
        pending="pending",
    ),
    # An approval posts the pending entry as well as deciding it.
    _t(
        "approvals:PendingDisbursements.DisbursementApproved",
        "disbursement.approved",
        entry="disbursement",
        pending="approved",
    ),
    _t(
        "approvals:PendingDisbursements.DisbursementRejected",
        "disbursement.rejected",
        pending="rejected",
    ),
    _t(
        "approvals:PendingDisbursements.DisbursementExpired",
        "disbursement.expired",
        pending="expired",
    ),
    _t("periods:FiscalCalendar.Started", "fiscal-calendar.started"),
    _t("periods:FiscalCalendar.PeriodClosed", "period.closed"),
    _t("periods:FiscalCalendar.PeriodReopened", "period.reopened"),
    _t("bank_accounts:BankAccount.Registered", "bank-account.registered"),
    _t("bank_accounts:BankAccount.Reassigned", "bank-account.reassigned"),
    _t("bank_accounts:BankAccount.Changed", "bank-account.changed"),
    _t("bank_accounts:BankAccount.Closed", "bank-account.closed"),
    _t("bank_accounts:BankAccountList.Started", "bank-account-list.started"),
    _t("bank_accounts:BankAccountList.Added", "bank-account-list.added"),
    _t("imports:ImportRun.Recorded", "import.recorded"),
    _t("bank_statements:BankMonth.Opened", "bank-month.opened"),
    _t("bank_statements:BankMonth.Received", "bank-month.received"),
    _t("bank_statements:BankMonth.LineExplained", "bank-line.explained"),
)

BY_TOPIC: dict[str, StoredType] = {t.topic: t for t in STORED_TYPES}
BY_NAME: dict[str, StoredType] = {t.name: t for t in STORED_TYPES}
