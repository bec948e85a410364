"""Shared fixtures: the ledger application on each store, and PostgreSQL access.

PostgreSQL tests skip with a message on a laptop without a server, but under
``CI=true`` an unreachable database fails the run: CI never silently skips them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from ledger.api.auth import ROLES
from ledger.application.app import LedgerApplication
from ledger.infrastructure.keys import load_key_material, mint_token
from ledger.infrastructure.settings import Settings
from projections.store import ReadStore
from server.app import create_app
from server.bootstrap import build_ledger, build_read_store

PG_URL = os.environ.get("LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_URL.split("?")[0], connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        return str(e)
    return None


_PG_ERROR: str | None = _pg_reachable()


def require_postgres() -> None:
    if _PG_ERROR is None:
        return
    if IN_CI:
        pytest.fail(f"PostgreSQL is required under CI=true but unreachable: {_PG_ERROR}")
    pytest.skip(f"PostgreSQL unreachable at {PG_URL} ({_PG_ERROR}); set up a server to run these")


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL pointing at a fresh schema, dropped after the test."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    base = PG_URL.split("?")[0]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}?schema={schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``durable`` need a store that outlives an application (restarts,
    two processes): they run on SQLite and PostgreSQL, not on the in-memory store."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.get_closest_marker("durable") and params.get("store_url") == "memory":
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def make_app(url: str) -> LedgerApplication:
    """The ledger as the composition root builds it, without the approval policy: most
    tests exercise the unguarded command set (large disbursements post at once)."""
    return build_ledger(Settings(database_url=url, pool_size=20), approvals=False)


def make_store(url: str, *, ensure_schema: bool = True) -> ReadStore:
    """The read store beside ``url``'s events, as the composition root builds it."""
    return build_read_store(Settings(database_url=url), ensure_schema=ensure_schema)


@pytest.fixture
def memory_app() -> Iterator[LedgerApplication]:
    app = make_app("memory://")
    yield app
    app.close()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for each store the application runs on."""
    if request.param == "memory":
        yield "memory://"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.sqlite3"
    else:
        yield request.getfixturevalue("pg_schema_url")


@pytest.fixture
def app(store_url: str) -> Iterator[LedgerApplication]:
    """The same application, on the in-memory store, SQLite and PostgreSQL."""
    application = make_app(store_url)
    yield application
    application.close()


# -- the HTTP app on each store ---------------------------------------------------

_keys = itertools.count()


@pytest.fixture
def ledger(store_url: str) -> Iterator[LedgerApplication]:
    application = make_app(store_url)
    yield application
    application.close()


# Tests sign HS256 tokens with this secret; the apps they build verify with it.
TEST_JWT_SECRET = "test-secret-for-the-grant-ledger-suite-0123456789"


def app_settings(store_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": store_url,
        "max_body_bytes": 16 * 1024,
        "read_wait_seconds": 1.0,
        "jwt_secret": TEST_JWT_SECRET,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def token(
    sub: str = "alice", roles: Sequence[str] = ROLES, ttl: dt.timedelta = dt.timedelta(hours=1)
) -> str:
    """A valid bearer token for the test apps (all roles unless narrowed)."""
    keys = load_key_material(Settings(jwt_secret=TEST_JWT_SECRET))  # type: ignore[arg-type]
    return mint_token(keys, sub, roles, ttl)


@pytest.fixture
def client(ledger: LedgerApplication, store_url: str) -> Iterator[TestClient]:
    # The default Authorization (all roles, subject alice) serves reads that pass no
    # headers; headers() overrides it per request.
    with TestClient(
        create_app(app_settings(store_url), ledger=ledger),
        headers={"Authorization": f"Bearer {token()}"},
    ) as c:
        yield c


@pytest.fixture
def headers() -> Callable[..., dict[str, str]]:
    """Headers for a request: a bearer token for ``actor`` (all roles unless ``roles=``
    narrows them) and a fresh Idempotency-Key unless given."""

    def make(
        key: str | None = None,
        actor: str = "alice",
        roles: Sequence[str] = ROLES,
        **extra: str,
    ) -> dict[str, str]:
        return {
            "Idempotency-Key": key or f"test-key-{next(_keys):08d}",
            "Authorization": f"Bearer {token(actor, roles)}",
            **extra,
        }

    return make
