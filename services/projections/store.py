"""Where the read models live, and which generation of them is active.

The runner writes through a synchronous engine (it runs in a thread beside the
event store's synchronous recorder); the API reads through an async engine
(asyncpg / aiosqlite), so balance queries never block the event loop.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Connection, Engine, create_engine, event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.schema import CreateTable

from projections.audit.tables import audit_metadata
from projections.generations import drop_orphans, schema_lock_key
from projections.tables import PROJECTION_NAME, Tables, active, metadata, tables_for
from projections.upgrade import widen_balances

log = logging.getLogger("projections.store")


@dataclass(frozen=True)
class ReadStoreUrls:
    sync_url: str
    async_url: str
    schema: str | None


def read_store_urls(database_url: str) -> ReadStoreUrls:
    """Read models beside the events: same PostgreSQL database, or a sibling SQLite file."""
    parts = urlsplit(database_url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme in ("postgres", "postgresql"):
        schema = parse_qs(parts.query).get("schema", [None])[0]
        base = parts._replace(scheme="", query="").geturl()  # //user@host:port/db
        return ReadStoreUrls(f"postgresql+psycopg:{base}", f"postgresql+asyncpg:{base}", schema)
    if scheme == "sqlite":
        path = Path(parts.path[1:] if parts.path.startswith("/") else parts.path)
        # A file of its own: the projection's writes never wait on the event store's lock.
        rm = path.with_name(path.stem + ".projections" + (path.suffix or ".sqlite3"))
        return ReadStoreUrls(f"sqlite:///{rm}", f"sqlite+aiosqlite:///{rm}", None)
    if scheme == "memory":
        # A throwaway event store gets a throwaway read store beside it.
        import tempfile
        import uuid

        path = Path(tempfile.gettempdir()) / f"ledger-rm-{uuid.uuid4().hex}.sqlite3"
        return read_store_urls(f"sqlite:///{path}")
    msg = f"no read store for {database_url!r}; give LEDGER_PROJECTIONS_URL"
    raise ValueError(msg)


class _ExactSum:
    """SQLite aggregate: the exact sum as a Python int, handed back as text past 64 bits."""

    def __init__(self) -> None:
        self.total: int | None = None

    def step(self, value: Any) -> None:
        if value is not None:
            self.total = (self.total or 0) + int(value)

    def finalize(self) -> int | str | None:
        if self.total is None or -(2**63) <= self.total < 2**63:
            return self.total
        return str(self.total)


def _register_exact_sum(dbapi_connection: Any) -> None:
    if hasattr(dbapi_connection, "create_aggregate"):  # pysqlite
        dbapi_connection.create_aggregate("exact_sum", 1, _ExactSum)
        return
    # aiosqlite: its connection is used from its own thread only.
    inner = dbapi_connection._connection
    dbapi_connection.await_(inner._execute(inner._conn.create_aggregate, "exact_sum", 1, _ExactSum))


def _sqlite_connect(dbapi_connection: Any, _: Any) -> None:
    # Take transaction control from pysqlite (SQLAlchemy's documented recipe), so a
    # read transaction really is one snapshot and writers lock up front.
    dbapi_connection.isolation_level = None
    _register_exact_sum(dbapi_connection)
    cursor = dbapi_connection.cursor()
    # First the wait, so processes opening a new file together wait for its lock.
    cursor.execute("PRAGMA busy_timeout=10000")
    # WAL: readers keep a consistent snapshot while the runner writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Writers take the write lock at BEGIN: a deferred transaction that read first
    # could not upgrade once another writer committed (SQLITE_BUSY_SNAPSHOT).
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_begin_deferred(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN DEFERRED")


# The runner's own connections: the leadership lock and its batch kept; a verify or
# rebuild in the same process (live snapshot, scratch replay, comparison) bursts.
WRITER_POOL_SIZE = 2
WRITER_POOL_BURST = 5


@dataclass(frozen=True)
class ReadPool:
    """The API's read pool (PostgreSQL): size, and how long anything may wait on it."""

    size: int = 4
    overflow: int = 4
    wait_seconds: float = 2.0  # for a pooled connection; then 503, not a queue
    statement_seconds: float = 10.0  # one query; then cancelled (503)
    recycle_seconds: float = 600.0  # older connections are replaced


class ReadStore:
    def __init__(self, urls: ReadStoreUrls, pool: ReadPool | None = None) -> None:
        self.urls = urls
        self.pool = pool = pool or ReadPool()
        sync_args: dict[str, Any] = {}
        async_args: dict[str, Any] = {}
        sync_engine: dict[str, Any] = {}
        async_engine: dict[str, Any] = {}
        if urls.schema:
            sync_args["options"] = f"-csearch_path={urls.schema}"
            async_args["server_settings"] = {"search_path": urls.schema}
        if urls.sync_url.startswith("postgresql"):
            # The writer's commits do not wait for the WAL flush. Everything written here
            # is derived from the event log, and each batch carries its tracking position
            # in the same transaction: a database crash can lose only the last batches,
            # position included, which the runner then applies again. The wait for the
            # flush was most of a small batch's commit, and a batch per commit is lag.
            options = sync_args.get("options", "")
            sync_args["options"] = f"{options} -csynchronous_commit=off".strip()
            # A database that is down or restarting answers 503 within seconds, and a
            # connection it closed is noticed at checkout (pre-ping) instead of failing
            # the request that drew it.
            wait = max(1, round(pool.wait_seconds))
            sync_args["connect_timeout"] = wait
            async_args["timeout"] = pool.wait_seconds
            async_args["command_timeout"] = pool.statement_seconds
            common = {
                "pool_pre_ping": True,
                "pool_recycle": pool.recycle_seconds,
                "pool_timeout": pool.wait_seconds,
            }
            sync_engine.update(common)
            async_engine.update(common, pool_size=pool.size, max_overflow=pool.overflow)
        # Sized, not SQLAlchemy's 5 + 10 overflow per engine: every replica's pools add
        # up against the server's max_connections (docs/operations.md has the sum).
        sync_engine.update(pool_size=WRITER_POOL_SIZE, max_overflow=WRITER_POOL_BURST)
        async_engine.setdefault("pool_size", pool.size)
        async_engine.setdefault("max_overflow", pool.overflow)
        self.engine: Engine = create_engine(urls.sync_url, connect_args=sync_args, **sync_engine)
        self.async_engine: AsyncEngine = create_async_engine(
            urls.async_url, connect_args=async_args, **async_engine
        )
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
            # The API only reads: deferred transactions, one snapshot each.
            event.listen(self.async_engine.sync_engine, "connect", _sqlite_connect)
            event.listen(self.async_engine.sync_engine, "begin", _sqlite_begin_deferred)

    @classmethod
    def for_database(cls, database_url: str, pool: ReadPool | None = None) -> ReadStore:
        return cls(read_store_urls(database_url), pool)

    def ensure_schema(self, *, lock: bool = True) -> None:
        """Create the active-generation marker and generation 1 if nothing exists yet.

        Under the schema lock ``ledger db upgrade`` holds (``lock=False`` only from
        inside that upgrade), so servers starting together create the tables once.
        Leftover generations of a killed rebuild are dropped here too.
        """
        with self.engine.begin() as conn:
            if lock and conn.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:k)"),
                    {"k": schema_lock_key(self.urls.schema)},
                )
            metadata.create_all(conn)
            audit_metadata.create_all(conn)
            if conn.execute(select(active.c.generation)).first() is None:
                create_generation(conn, 1)
                conn.execute(insert(active).values(id=1, generation=1))
            else:
                # Tables added by a later release (e.g. pending disbursements) start
                # empty; the events that fill them are no older than the release.
                live = tables_for(active_generation(conn))
                for table in live.all():
                    table.create(conn, checkfirst=True)
                widen_balances(conn, live)
                dropped = drop_orphans(conn, active_generation(conn), self.urls.schema)
                if dropped:
                    log.warning("dropped leftover read-model generations %s", dropped)

    def close(self) -> None:
        self.engine.dispose()


@contextlib.contextmanager
def transaction(engine: Engine, connection: Connection | None = None) -> Iterator[Connection]:
    """A transaction on ``connection`` if given (a caller running several on one checkout),
    else on a connection of the engine's pool."""
    if connection is None:
        with engine.begin() as conn:
            yield conn
    else:
        with connection.begin():
            yield connection


def create_generation(conn: Connection, generation: int, *, indexes: bool = True) -> Tables:
    """A generation's empty tables at position 0.

    ``indexes=False`` creates only the tables with their keys (all a replay looks rows
    up by); ``create_indexes`` adds the rest once filled. Loading a whole log into
    tables that are indexed already cost the database a third more work.
    """
    tables = tables_for(generation)
    for table in tables.all():
        table.drop(conn, checkfirst=True)
        if indexes:
            table.create(conn)
        else:
            conn.execute(CreateTable(table))
    conn.execute(insert(tables.tracking).values(projection=PROJECTION_NAME, position=0))
    return tables


def create_indexes(conn: Connection, generation: int) -> None:
    """The secondary indexes of a generation made with ``indexes=False``."""
    for table in tables_for(generation).all():
        for index in table.indexes:
            index.create(conn)


def drop_generation(conn: Connection, generation: int) -> None:
    for table in reversed(tables_for(generation).all()):
        table.drop(conn, checkfirst=True)


def active_generation(conn: Connection) -> int:
    return int(conn.execute(select(active.c.generation)).scalar_one())


async def active_tables(conn: AsyncConnection) -> Tables:
    generation = (await conn.execute(select(active.c.generation))).scalar_one()
    return tables_for(int(generation))


def tracked_position(conn: Connection, tables: Tables) -> int:
    return int(
        conn.execute(
            select(tables.tracking.c.position).where(
                tables.tracking.c.projection == PROJECTION_NAME
            )
        ).scalar_one()
    )
