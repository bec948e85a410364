"""Applying a batch of events to one generation of read models, atomically.

All rows of a batch and the new tracking position are written in one
transaction. The tracking update is conditional on the position the batch
started from, so two runners can never both apply the same events.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ledger.domain.account import account_id
from ledger.domain.registry import registry_id
from projections.bulk import bulk_add, bulk_insert
from projections.facts import (
    IGNORED,
    EntryFacts,
    entry_facts,
    event_name,
    pending_decision,
    pending_request,
    registry_row,
)
from projections.moments import db_moment
from projections.tables import PROJECTION_NAME, Tables


class TrackingConflict(Exception):
    """Another runner moved the tracking position first; this batch was rolled back."""


def db_time(conn: Connection, moment: dt.datetime) -> dt.datetime:
    return db_moment(moment, conn.dialect.name)


@dataclass
class Facts:
    """Facts that never change once recorded: who a grant belongs to, a school's
    region, whose account or donor id is whose. Kept across batches of one
    generation, so following the log costs no look-up per event."""

    grants: dict[str, dict[str, Any]] = field(default_factory=dict)
    school_by_account: dict[str, str] = field(default_factory=dict)
    donor_by_id: dict[str, str] = field(default_factory=dict)
    region_by_school: dict[str, str] = field(default_factory=dict)


class BatchApplier:
    def __init__(self, conn: Connection, tables: Tables, facts: Facts | None = None) -> None:
        self.conn = conn
        self.t = tables
        facts = facts or Facts()
        self.registry: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.grants = facts.grants
        self.new_grants: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []
        self.entry_cache: dict[str, dict[str, Any]] = {}
        self.reversed: list[dict[str, Any]] = []
        self.postings: list[dict[str, Any]] = []
        self.deltas: dict[tuple[str, str], int] = defaultdict(int)
        self.programme_deltas: dict[tuple[str, str, str, str], int] = defaultdict(int)
        self.school_by_account = facts.school_by_account
        self.donor_by_id = facts.donor_by_id
        self.region_by_school = facts.region_by_school
        self.new_pending: dict[str, dict[str, Any]] = {}
        self.decided: list[dict[str, Any]] = []
        # Called before reading the tables: a pipelined replay first lets the batch
        # still being written commit, so its rows are there to be found.
        self.before_lookup: Callable[[], None] = lambda: None

    def _lookup(self, statement: Any) -> Any:
        self.before_lookup()
        return self.conn.execute(statement)

    # -- lookups: this batch first, then the tables ----------------------------------

    def _grant(self, grant_id: str) -> dict[str, Any]:
        if grant_id not in self.grants:
            g = self.t.grants
            row = self._lookup(select(g).where(g.c.grant_id == grant_id)).mappings().one()
            self.grants[grant_id] = dict(row)
        return self.grants[grant_id]

    def _school_of_account(self, aggregate_id: str) -> str:
        if aggregate_id not in self.school_by_account:
            s = self.t.schools
            self.school_by_account[aggregate_id] = self._lookup(
                select(s.c.code).where(s.c.account_id == aggregate_id)
            ).scalar_one()
        return self.school_by_account[aggregate_id]

    def _donor_of(self, aggregate_id: str) -> str:
        if aggregate_id not in self.donor_by_id:
            d = self.t.donors
            self.donor_by_id[aggregate_id] = self._lookup(
                select(d.c.code).where(d.c.aggregate_id == aggregate_id)
            ).scalar_one()
        return self.donor_by_id[aggregate_id]

    def _region(self, school: str | None) -> str | None:
        if school is None:
            return None
        if school not in self.region_by_school:
            s = self.t.schools
            self.region_by_school[school] = self._lookup(
                select(s.c.region).where(s.c.code == school)
            ).scalar_one()
        return self.region_by_school[school]

    def _entry(self, entry_id: str) -> dict[str, Any]:
        if entry_id not in self.entry_cache:
            e = self.t.entries
            row = self._lookup(select(e).where(e.c.entry_id == entry_id)).mappings().one()
            self.entry_cache[entry_id] = dict(row)
        return self.entry_cache[entry_id]

    # -- applying ---------------------------------------------------------------------

    def apply(self, event: Any, position: int) -> None:
        name = event_name(event)
        if name in IGNORED:
            return
        registered = registry_row(event)
        if registered is not None:
            self._register(*registered)
            return
        if self._pending(event, position):
            return
        facts = entry_facts(event)
        if facts is None:
            msg = f"the read side does not know event {name} at position {position}"
            raise LookupError(msg)
        self._contextualise(facts, event)
        self._record_entry(facts, position)

    def _register(self, table: str, row: dict[str, Any]) -> None:
        if table == "schools":
            row["account_id"] = str(account_id(row["code"]))
            self.school_by_account[row["account_id"]] = row["code"]
            self.region_by_school[row["code"]] = row["region"]
        elif table == "donors":
            row["aggregate_id"] = str(registry_id("donor", row["code"]))
            self.donor_by_id[row["aggregate_id"]] = row["code"]
        self.registry[table].append(row)

    def _contextualise(self, facts: EntryFacts, event: Any) -> None:
        """Attach donor, school, programme and kind from what the read side knows."""
        owner = str(event.originator_id)
        if facts.kind == "reversal":
            original = self._entry(str(facts.reverses))
            facts.grant_id = original["grant_id"]
            facts.donor, facts.school = original["donor"], original["school"]
            facts.programme, facts.category = original["programme"], original["category"]
            facts.details = {"reverses_kind": original["kind"]}
            facts.amount = original["amount"]
            return
        if facts.kind == "commitment":
            grant = {
                "grant_id": owner, "donor": facts.donor, "school": facts.school,
                "programme": facts.programme, "currency": facts.currency,
            }  # fmt: skip
            self.grants[owner] = grant
            self.new_grants.append(grant)
        elif facts.grant_id is not None:
            grant = self._grant(facts.grant_id)
            facts.donor, facts.school = grant["donor"], grant["school"]
            facts.programme = grant["programme"]
        elif facts.kind == "expenditure":
            facts.school = self._school_of_account(owner)
        else:
            facts.donor = self._donor_of(owner)

    def _record_entry(self, facts: EntryFacts, position: int) -> None:
        recorded_at = db_time(self.conn, facts.recorded_at)
        region = self._region(facts.school)
        row = {
            "entry_id": facts.entry_id, "position": position, "kind": facts.kind,
            "is_reversal": facts.kind == "reversal", "value_date": facts.value_date,
            "recorded_at": recorded_at, "actor": facts.actor,
            "idempotency_key": facts.idempotency_key, "grant_id": facts.grant_id,
            "donor": facts.donor, "school": facts.school, "programme": facts.programme,
            "region": region, "category": facts.category, "currency": facts.currency,
            "amount": facts.amount, "reference": facts.reference, "reason": facts.reason,
            "details": facts.details_json(), "reverses": facts.reverses,
            "reversed_by": None, "reversed_at_position": None,
        }  # fmt: skip
        self.entries.append(row)
        self.entry_cache[facts.entry_id] = row
        # A reversal's legs count under the kind of entry it reverses, so
        # "received" or "spent" figures net out corrections.
        kind = self._entry(str(facts.reverses))["kind"] if facts.reverses else facts.kind
        if facts.reverses:
            self.reversed.append(
                {"_id": facts.reverses, "reversed_by": facts.entry_id, "at": position}
            )
            self.entry_cache[facts.reverses]["reversed_by"] = facts.entry_id
        for account, amount, currency in facts.legs:
            self.postings.append(
                {
                    "position": position,
                    "entry_id": facts.entry_id,
                    "kind": kind,
                    "account": account,
                    "currency": currency,
                    "amount": amount,
                    "value_date": facts.value_date,
                    "recorded_at": recorded_at,
                    "donor": facts.donor,
                    "school": facts.school,
                    "programme": facts.programme,
                    "region": region,
                }
            )
            self.deltas[(account, currency)] += amount
            if facts.programme is not None:
                self.programme_deltas[(facts.programme, account, kind, currency)] += amount

    def _pending(self, event: Any, position: int) -> bool:
        """Apply a request or decision to the pending table; True if nothing else to do."""
        requested = pending_request(event)
        if requested is not None:
            grant = self._grant(requested["grant_id"])
            requested.update(
                position=position, donor=grant["donor"], school=grant["school"],
                programme=grant["programme"],
                requested_at=db_time(self.conn, requested["requested_at"]),
                expires_at=db_time(self.conn, requested["expires_at"]),
            )  # fmt: skip
            self.new_pending[requested["entry_id"]] = requested
            return True
        decision = pending_decision(event)
        if decision is None:
            return False
        decision.update(
            decided_at=db_time(self.conn, decision["decided_at"]), decided_position=position
        )
        if decision["entry_id"] in self.new_pending:
            self.new_pending[decision["entry_id"]].update(decision)
        else:
            self.decided.append(decision)
        # An approval also posts the disbursement's journal entry.
        return bool(decision["status"] != "approved")

    # -- writing ------------------------------------------------------------------------

    def flush(self, start_position: int, end_position: int) -> None:
        t, conn = self.t, self.conn
        for name in ("donors", "programmes", "schools"):
            if self.registry[name]:
                bulk_insert(conn, getattr(t, name), self.registry[name])
        if self.new_grants:
            bulk_insert(conn, t.grants, self.new_grants)
        if self.entries:
            bulk_insert(conn, t.entries, self.entries)
        for r in self.reversed:
            conn.execute(
                update(t.entries)
                .where(t.entries.c.entry_id == r["_id"])
                .values(reversed_by=r["reversed_by"], reversed_at_position=r["at"])
            )
        if self.postings:
            bulk_insert(conn, t.postings, self.postings)
        if self.new_pending:
            bulk_insert(conn, t.pending, list(self.new_pending.values()))
        for d in self.decided:
            conn.execute(
                update(t.pending)
                .where(t.pending.c.entry_id == d["entry_id"])
                .values({k: v for k, v in d.items() if k != "entry_id"})
            )
        self._add_to_balances()
        moved = conn.execute(
            update(t.tracking)
            .where(
                and_(
                    t.tracking.c.projection == PROJECTION_NAME,
                    t.tracking.c.position == start_position,
                )
            )
            .values(position=end_position)
        )
        if moved.rowcount != 1:
            raise TrackingConflict(f"tracking moved away from {start_position}")

    def _add_to_balances(self) -> None:
        rows = [
            {"account": a, "currency": c, "balance": d} for (a, c), d in sorted(self.deltas.items())
        ]
        self._upsert_add(self.t.balances, ["account", "currency"], rows)
        programme_rows = [
            {"programme": p, "account": a, "kind": k, "currency": c, "balance": d}
            for (p, a, k, c), d in sorted(self.programme_deltas.items())
        ]
        self._upsert_add(
            self.t.programme_balances, ["programme", "account", "kind", "currency"], programme_rows
        )

    def _upsert_add(self, table: Any, key: list[str], rows: list[dict[str, Any]]) -> None:
        """Add each row's balance to the stored one, inserting the rows not there yet."""
        if not rows:
            return
        if self.conn.dialect.name == "postgresql":
            # One statement over arrays, exact NUMERIC addition in the database.
            bulk_add(self.conn, table, key, "balance", rows)
            return
        # SQLite adds in Python (its own arithmetic turns to REAL past 2**63); the runner
        # holds the write lock, so reading the stored sums first is safe.
        stored = self._stored_balances(table, key, rows)
        for row in rows:
            row["balance"] += stored.get(tuple(row[k] for k in key), 0)
        lite = sqlite_insert(table)
        self.conn.execute(
            lite.on_conflict_do_update(index_elements=key, set_={"balance": lite.excluded.balance}),
            rows,
        )

    def _stored_balances(
        self, table: Any, key: list[str], rows: list[dict[str, Any]]
    ) -> dict[tuple[Any, ...], int]:
        first = table.c[key[0]]
        wanted = sorted({row[key[0]] for row in rows})
        found: dict[tuple[Any, ...], int] = {}
        for start in range(0, len(wanted), 500):
            stmt = select(*(table.c[k] for k in key), table.c.balance).where(
                first.in_(wanted[start : start + 500])
            )
            for *ident, balance in self.conn.execute(stmt).all():
                found[tuple(ident)] = int(balance)
        return found
