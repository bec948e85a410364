"""What the bank says happened on an account: statement lines and stated balances, kept
per account and month so a reconciliation loads only the months it looks at.

A line is known by the payment's key (payer's account, document number, date, amount):
importing an overlapping statement again adds only the lines not yet known, so each
payment appears once however many statements showed it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import NotFound
from ledger.domain.registry import check_text, registry_id

# The fields a stored line carries (all plain JSON values).
LINE_FIELDS = (
    "key", "number", "date", "amount", "currency", "direction", "counterparty_iik",
    "counterparty_name", "knp", "purpose",
)  # fmt: skip


def month_of(day: dt.date) -> str:
    return f"{day:%Y-%m}"


def bank_month_id(iik: str, month: str) -> UUID:
    return registry_id("bank-month", f"{iik}:{month}")


class BankMonth(Aggregate):
    """One account's statement lines and stated balances in one calendar month."""

    @staticmethod
    def create_id(iik: str, month: str, **_: Any) -> UUID:
        return bank_month_id(iik, month)

    @classmethod
    def open(cls, *, iik: str, month: str, actor: str, idempotency_key: str) -> BankMonth:
        return cls(iik=iik, month=month, actor=actor, idempotency_key=idempotency_key)

    @event("Opened")
    def __init__(self, iik: str, month: str, actor: str, idempotency_key: str) -> None:
        self.iik = iik
        self.month = month
        self.lines: dict[str, dict[str, Any]] = {}
        self.balances: dict[str, int] = {}  # "YYYY-MM-DD:opening|closing" -> minor units
        # Lines an officer explained instead of recording (a bank fee, a refund): key -> why.
        self.explained: dict[str, str] = {}

    def receive(
        self,
        *,
        lines: list[dict[str, Any]],
        balances: dict[str, int],
        import_sha256: str,
        actor: str,
        idempotency_key: str,
    ) -> None:
        """Add the lines not yet known, and balances not yet stated (or stated otherwise)."""
        new = [
            {k: line.get(k) for k in LINE_FIELDS} for line in lines if line["key"] not in self.lines
        ]
        changed = {k: v for k, v in balances.items() if self.balances.get(k) != v}
        if new or changed:
            self._received(
                iik=self.iik,
                month=self.month,
                lines=new,
                balances=changed,
                import_sha256=import_sha256,
                actor=actor,
                idempotency_key=idempotency_key,
            )

    @event("Received")
    def _received(
        self,
        iik: str,
        month: str,
        lines: list[dict[str, Any]],
        balances: dict[str, int],
        import_sha256: str,
        actor: str,
        idempotency_key: str,
    ) -> None:
        for line in lines:
            self.lines[line["key"]] = line
        self.balances.update(balances)

    def explain(self, *, key: str, reason: str, actor: str, idempotency_key: str) -> None:
        """Say why a line is not (and will not be) an entry of the ledger."""
        if key not in self.lines:
            raise NotFound(f"no statement line {key} on {self.iik} in {self.month}")
        self._explained(
            iik=self.iik,
            month=self.month,
            key=key,
            reason=check_text(reason, "reason", 500),
            actor=actor,
            idempotency_key=idempotency_key,
        )

    @event("LineExplained")
    def _explained(
        self, iik: str, month: str, key: str, reason: str, actor: str, idempotency_key: str
    ) -> None:
        self.explained[key] = reason
