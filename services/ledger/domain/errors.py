"""Domain errors. Each has a stable ``code`` that the API maps to a problem ``type``."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused by a rule of the domain; nothing was recorded."""

    code = "domain-rule"
    title = "Domain rule violated"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidAmount(DomainError):
    code = "invalid-amount"
    title = "Invalid amount"

    def __init__(self, amount: object) -> None:
        super().__init__(
            f"amount must be a positive integer of minor units up to 10^15, got {amount!r}"
        )


class UnknownCurrency(DomainError):
    code = "unknown-currency"
    title = "Unknown currency"

    def __init__(self, currency: str) -> None:
        super().__init__(f"{currency!r} is not an active ISO 4217 currency code")


class CurrencyMismatch(DomainError):
    code = "currency-mismatch"
    title = "Currency does not match"


class UnbalancedPosting(DomainError):
    code = "unbalanced-posting"
    title = "Posting does not balance"


class InvalidValue(DomainError):
    code = "invalid-value"
    title = "Invalid value"


class NotFound(DomainError):
    code = "not-found"
    title = "Not found"


class AlreadyExists(DomainError):
    code = "already-exists"
    title = "Already exists"


class InsufficientUndisbursed(DomainError):
    code = "exceeds-undisbursed-commitment"
    title = "Amount exceeds the grant's undisbursed commitment"


class InsufficientCash(DomainError):
    code = "exceeds-cash-on-hand"
    title = "Amount exceeds the school's cash on hand"


class AlreadyReversed(DomainError):
    code = "already-reversed"
    title = "Entry already reversed"


class NotReversible(DomainError):
    code = "not-reversible"
    title = "Entry cannot be reversed"


class ReversalBeforeEntry(DomainError):
    code = "reversal-before-entry"
    title = "A reversal is not dated before the entry it reverses"


class VersionMismatch(DomainError):
    code = "version-conflict"
    title = "Version conflict"


class SelfApprovalForbidden(DomainError):
    code = "self-approval-forbidden"
    title = "The maker of a disbursement cannot approve it"


class NotPending(DomainError):
    code = "not-pending"
    title = "Not a pending disbursement"


class ApprovalExpired(DomainError):
    code = "approval-expired"
    title = "The pending disbursement expired"


class PeriodClosed(DomainError):
    code = "period-closed"
    title = "Fiscal period closed"


class PeriodState(DomainError):
    code = "period-state"
    title = "Fiscal period is not in the state the request needs"
