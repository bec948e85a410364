"""The demo dataset, loaded once per session and store, served by the real app.

Exports need a read store that outlives a request (SQLite file or PostgreSQL schema),
so these fixtures run on SQLite and PostgreSQL, not on the in-memory store.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.demo import load_demo
from tests.conftest import IN_CI, PG_URL, app_settings, make_app, require_postgres, token

STANDARDS = Path(__file__).resolve().parents[1] / "standards"


@dataclass
class Demo:
    client: TestClient
    position: int
    url: str


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('exports')}/ledger.sqlite3"
    else:
        require_postgres()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_URL.split("?")[0], autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{PG_URL.split('?')[0]}?schema={schema}"
    ledger = make_app(url)
    try:
        summary = load_demo(ledger)
        # The read side catches up from an empty store: give it time on a busy machine.
        settings = app_settings(url, read_wait_seconds=120.0)
        auditor = {"Authorization": f"Bearer {token('auditor-1', ['auditor'])}"}
        with TestClient(create_app(settings, ledger=ledger), headers=auditor) as client:
            yield Demo(client, summary.last_position, url)
    finally:
        ledger.close()
        if schema is not None:
            with psycopg.connect(PG_URL.split("?")[0], autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def tool(name: str) -> str:
    """An independent checker (hledger, ledger): installed by scripts/test.sh."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (scripts/test.sh installs Debian's package)"
        if IN_CI or os.environ.get("LEDGER_REQUIRE_TOOLS"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=120).stdout


def minor(text: str, places: int = 2) -> int:
    """'-1234.50' -> -123450, exactly (Decimal, no binary fractions)."""
    value = Decimal(text).scaleb(places)
    assert value == value.to_integral_value(), f"{text} has more than {places} decimals"
    return int(value)
