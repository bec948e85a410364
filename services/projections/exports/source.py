"""Reading the read models for an export: one snapshot, pinned to one position, in pages.

An export can take seconds and the runner keeps writing meanwhile. Every query is
limited to ``position <= at`` (the position the request was answered at), and each
entry is written with all its postings in one transaction, so no page boundary can
tear an entry. On PostgreSQL the stream also runs in one REPEATABLE READ transaction:
registry rows agree with the entries, and a rebuild cannot drop the tables under it
(DROP waits for the stream's lock). SQLite's deferred read transaction is a snapshot.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections import queries
from projections.queries import Cut
from projections.store import ReadStore, active_tables
from projections.tables import Tables

PAGE_ENTRIES = 500

Leg = tuple[str, int, str]


@dataclass(frozen=True)
class Snapshot:
    conn: AsyncConnection
    tables: Tables
    at: int
    cut: Cut

    def entry_filter(self) -> ColumnElement[bool]:
        e = self.tables.entries
        return and_(e.c.position <= self.at, self.cut.where(e, self.conn.dialect.name))

    def posting_filter(self) -> ColumnElement[bool]:
        p = self.tables.postings
        return and_(p.c.position <= self.at, self.cut.where(p, self.conn.dialect.name))


@asynccontextmanager
async def snapshot(store: ReadStore, at: int, cut: Cut) -> AsyncIterator[Snapshot]:
    async with store.async_engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ")
        tables = await active_tables(conn)
        # A rebuild flips only to a generation that caught up with the log, so the
        # active tables are at ``at`` or beyond; the filters cut them back to ``at``.
        at = min(at, await queries.position(conn, tables))
        yield Snapshot(conn, tables, at, cut)


async def entry_pages(
    snap: Snapshot, where: ColumnElement[bool] | None = None, *, legs: bool = True
) -> AsyncIterator[list[tuple[dict[str, Any], list[Leg]]]]:
    """Entries in log order with their legs (unless ``legs=False``), a page at a time
    (keyset on position)."""
    e, p = snap.tables.entries, snap.tables.postings
    page = PAGE_ENTRIES  # read per call, so tests can shrink pages to cross boundaries
    after = -1
    while True:
        stmt = select(e).where(e.c.position > after, snap.entry_filter())
        if where is not None:
            stmt = stmt.where(where)
        stmt = stmt.order_by(e.c.position).limit(page)
        entries = [dict(r) for r in (await snap.conn.execute(stmt)).mappings().all()]
        if not entries:
            return
        after = entries[-1]["position"]
        found: dict[str, list[Leg]] = {x["entry_id"]: [] for x in entries}
        if legs:
            # By position, which postings are indexed on (one entry per log position):
            # a look-up per entry, not a scan of the postings per page.
            rows = await snap.conn.execute(
                select(p.c.entry_id, p.c.account, p.c.amount, p.c.currency)
                .where(p.c.position.in_([x["position"] for x in entries]))
                .order_by(p.c.id)
            )
            for entry_id, account, amount, currency in rows.all():
                found[entry_id].append((account, int(amount), currency))
        yield [(x, found[x["entry_id"]]) for x in entries]
        if len(entries) < page:
            return


def details(entry: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(entry["details"] or "{}")
    return loaded


def notes(entry: dict[str, Any]) -> dict[str, Any]:
    """What an auditor reads beside the figures: the free text, both people of a
    four-eyes disbursement (``requested_by`` the maker, ``approved_by`` the checker) and
    the grant an entry names as where its money came from."""
    d = details(entry)
    return {
        "description": d.get("description") or None,
        "valuation_basis": d.get("valuation_basis"),
        "quantities": d.get("quantities") or None,
        "requested_by": d.get("requested_by"),
        "approved_by": d.get("approved_by"),
        "from_grant": d.get("from_grant"),
    }


def effective_kind(entry: dict[str, Any]) -> str:
    """The kind of business fact an entry moves: a reversal moves its original's kind."""
    if entry["kind"] == "reversal":
        return str(details(entry).get("reverses_kind", "reversal"))
    return str(entry["kind"])


async def registry_names(conn: AsyncConnection, table: Any) -> dict[str, str]:
    rows = await conn.execute(select(table.c.code, table.c.name))
    return {code: name for code, name in rows.all()}


def utc_iso(moment: dt.datetime) -> str:
    # SQLite hands back naive datetimes; the read models store UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).isoformat()
