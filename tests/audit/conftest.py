"""The audit tests run the application as `ledger serve` builds it (four-eyes threshold on)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.application.app import LedgerApplication
from ledger.infrastructure.settings import Settings
from server.bootstrap import build_ledger


@pytest.fixture
def ledger(store_url: str) -> Iterator[LedgerApplication]:
    application = build_ledger(Settings(database_url=store_url, pool_size=20))
    yield application
    application.close()
