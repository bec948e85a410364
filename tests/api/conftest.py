from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from ledger.api.app import create_app
from ledger.application.app import LedgerApplication
from ledger.infrastructure.settings import Settings
from tests.conftest import make_app

_keys = itertools.count()


@pytest.fixture
def ledger(store_url: str) -> Iterator[LedgerApplication]:
    application = make_app(store_url)
    yield application
    application.close()


@pytest.fixture
def client(ledger: LedgerApplication, store_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=store_url, max_body_bytes=16 * 1024)
    with TestClient(create_app(settings, ledger=ledger)) as c:
        yield c


@pytest.fixture
def headers() -> Callable[..., dict[str, str]]:
    """Headers for a recording request, with a fresh Idempotency-Key unless given."""

    def make(key: str | None = None, actor: str = "alice", **extra: str) -> dict[str, str]:
        return {
            "Idempotency-Key": key or f"test-key-{next(_keys):08d}",
            "X-Actor": actor,
            **extra,
        }

    return make
