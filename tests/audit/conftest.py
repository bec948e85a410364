"""The audit tests run the application as `ledger serve` builds it (four-eyes threshold on)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.application.app import LedgerApplication
from ledger.application.approval_policy import ApprovalPolicy
from ledger.infrastructure.settings import eventsourcing_env


@pytest.fixture
def ledger(store_url: str) -> Iterator[LedgerApplication]:
    application = LedgerApplication(
        eventsourcing_env(store_url, pool_size=20), approvals=ApprovalPolicy()
    )
    yield application
    application.close()
