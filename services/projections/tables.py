"""Read-model tables, one set per *generation*.

A rebuild fills a fresh generation from the log while the live one keeps
answering, then flips ``rm_active`` in one transaction: readers and the runner
move to the new tables at their next query, and the old set is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import TypeDecorator, TypeEngine

PROJECTION_NAME = "ledger"


class ExactInteger(TypeDecorator[int]):
    """A running sum of minor units, exact at any size: never a 64-bit overflow, never REAL.

    Each posting is at most 10**15 and a log holds fewer than 2**63 of them, so no sum
    of postings reaches 10**38: NUMERIC(38, 0) on PostgreSQL holds every one. SQLite's
    integers stop at 2**63 and its arithmetic silently turns to floating point beyond,
    so there the sum is decimal text and the writer adds in Python.
    """

    impl = Numeric(38, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(38, 0))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return str(int(value)) if dialect.name == "sqlite" else int(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


class exact_sum(GenericFunction[int]):  # noqa: N801 - an SQL function, named as one
    """SUM of minor units, exact: PostgreSQL's sum of BIGINT is NUMERIC already; SQLite's
    raises past 2**63, so there it is the store's exact_sum aggregate (Python integers)."""

    type = ExactInteger()
    inherit_cache = True


@compiles(exact_sum)
def _sum(element: exact_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"sum({compiler.process(element.clauses, **kw)})"


@compiles(exact_sum, "sqlite")
def _exact_sum(element: exact_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"exact_sum({compiler.process(element.clauses, **kw)})"


metadata = MetaData()

# Which generation of read models is live; a single row.
active = Table(
    "rm_active",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("generation", Integer, nullable=False),
)


# The last rebuild and verify: when, how long, with what outcome (for metrics/alerts).
runs = Table(
    "rm_runs",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("duration_ms", BigInteger, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("differences", Integer, nullable=False),
)


@dataclass(frozen=True)
class Tables:
    generation: int
    tracking: Table
    entries: Table
    postings: Table
    balances: Table
    schools: Table
    donors: Table
    programmes: Table
    grants: Table
    programme_balances: Table
    pending: Table

    def all(self) -> list[Table]:
        return [
            self.tracking, self.entries, self.postings, self.balances,
            self.schools, self.donors, self.programmes, self.grants, self.programme_balances,
            self.pending,
        ]  # fmt: skip


_cache: dict[int, Tables] = {}


def tables_for(generation: int) -> Tables:
    """The table set of one generation (defined once per process)."""
    if generation in _cache:
        return _cache[generation]
    p = f"rm{generation}_"
    md = MetaData()
    tracking = Table(
        p + "tracking",
        md,
        Column("projection", String(64), primary_key=True),
        Column("position", BigInteger, nullable=False),
    )
    entries = Table(
        p + "entries",
        md,
        Column("entry_id", String(36), primary_key=True),
        Column("position", BigInteger, nullable=False),
        Column("kind", String(32), nullable=False),
        Column("is_reversal", Boolean, nullable=False),
        Column("value_date", Date, nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
        Column("actor", String(64), nullable=False),
        Column("idempotency_key", String(128), nullable=False),
        Column("grant_id", String(36)),
        Column("donor", String(64)),
        Column("school", String(64)),
        Column("programme", String(64)),
        Column("region", String(32)),
        Column("category", String(48)),
        Column("currency", String(3), nullable=False),
        Column("amount", BigInteger, nullable=False),
        Column("reference", String(100)),
        Column("reason", Text),
        Column("details", Text, nullable=False),
        Column("reverses", String(36)),
        Column("reversed_by", String(36)),
        Column("reversed_at_position", BigInteger),
        Index(p + "entries_position", "position"),
        Index(p + "entries_school", "school", "position"),
        Index(p + "entries_donor", "donor", "position"),
        Index(p + "entries_grant", "grant_id", "position"),
        Index(p + "entries_programme", "programme", "position"),
        Index(p + "entries_value_date", "value_date"),
    )
    postings = Table(
        p + "postings",
        md,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
        Column("position", BigInteger, nullable=False),
        Column("entry_id", String(36), nullable=False),
        Column("kind", String(32), nullable=False),
        Column("account", String(255), nullable=False),
        Column("currency", String(3), nullable=False),
        Column("amount", BigInteger, nullable=False),
        Column("value_date", Date, nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
        Column("donor", String(64)),
        Column("school", String(64)),
        Column("programme", String(64)),
        Column("region", String(32)),
        Index(p + "postings_account", "account", "value_date"),
        Index(p + "postings_school", "school", "value_date"),
        Index(p + "postings_donor", "donor", "value_date"),
        # "Schools funded" reads only a donor's commitment and reduction postings.
        Index(p + "postings_donor_kind", "donor", "kind"),
        Index(p + "postings_programme", "programme", "value_date"),
        Index(p + "postings_region", "region", "value_date"),
        Index(p + "postings_recorded_at", "recorded_at"),
        Index(p + "postings_position", "position"),
    )
    balances = Table(
        p + "balances",
        md,
        Column("account", String(255), primary_key=True),
        Column("currency", String(3), primary_key=True),
        Column("balance", ExactInteger, nullable=False),
    )
    # Running balances per programme, account and entry kind: programme totals at a
    # cost that grows with the chart of accounts, not with the length of history.
    programme_balances = Table(
        p + "programme_balances",
        md,
        Column("programme", String(64), primary_key=True),
        Column("account", String(255), primary_key=True),
        Column("kind", String(32), primary_key=True),
        Column("currency", String(3), primary_key=True),
        Column("balance", ExactInteger, nullable=False),
    )
    schools = Table(
        p + "schools",
        md,
        Column("code", String(64), primary_key=True),
        Column("name", String(200), nullable=False),
        Column("school_type", String(16), nullable=False),
        Column("region", String(32), nullable=False),
        Column("district", String(100), nullable=False),
        Column("hub", String(64)),
        Column("account_id", String(36), nullable=False, unique=True),
        Index(p + "schools_region", "region"),
    )
    donors = Table(
        p + "donors",
        md,
        Column("code", String(64), primary_key=True),
        Column("name", String(200), nullable=False),
        Column("aggregate_id", String(36), nullable=False, unique=True),
    )
    programmes = Table(
        p + "programmes",
        md,
        Column("code", String(64), primary_key=True),
        Column("name", String(200), nullable=False),
    )
    grants = Table(
        p + "grants",
        md,
        Column("grant_id", String(36), primary_key=True),
        Column("donor", String(64), nullable=False),
        Column("school", String(64), nullable=False),
        Column("programme", String(64)),
        Column("currency", String(3), nullable=False),
    )
    result = Tables(
        generation, tracking, entries, postings, balances, schools, donors, programmes, grants,
        programme_balances, pending_table(p, md),
    )  # fmt: skip
    _cache[generation] = result
    return result


def pending_table(p: str, md: MetaData) -> Table:
    """Disbursements awaiting a second person, and how each was decided.

    Postings hold nothing for them (a pending item posts no legs); this table gives
    approvers their list, balances their reserved figure, and the sweeper its work.
    """
    return Table(
        p + "pending",
        md,
        Column("entry_id", String(36), primary_key=True),
        Column("position", BigInteger, nullable=False),
        Column("grant_id", String(36), nullable=False),
        Column("donor", String(64), nullable=False),
        Column("school", String(64), nullable=False),
        Column("programme", String(64)),
        Column("currency", String(3), nullable=False),
        Column("amount", BigInteger, nullable=False),
        Column("value_date", Date, nullable=False),
        Column("payment_reference", String(100), nullable=False),
        Column("requested_by", String(64), nullable=False),
        Column("requested_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        # pending, approved, rejected or expired
        Column("status", String(16), nullable=False),
        Column("decided_by", String(64)),
        Column("decided_at", DateTime(timezone=True)),
        Column("decision_reason", Text),
        Column("decided_position", BigInteger),
        Index(p + "pending_status", "status", "position"),
        Index(p + "pending_school", "school", "status"),
        Index(p + "pending_donor", "donor", "status"),
        Index(p + "pending_expiry", "status", "expires_at"),
    )
