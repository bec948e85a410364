"""A snapshot taken before entry states kept their value dates still loads, and the
rule that a reversal is never dated before its entry still holds for its entries."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from typing import Any
from uuid import UUID

import pytest

from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context
from ledger.domain.donor import Donor
from ledger.domain.errors import AlreadyReversed, ReversalBeforeEntry
from tests.conftest import make_app


def _strip_entry_dates(node: Any) -> Any:
    """A snapshot's JSON as written before entry states kept their value dates."""
    if isinstance(node, dict):
        if node.get("_type_") == "entry_state":
            node["_data_"].pop("value_date", None)
        return {k: _strip_entry_dates(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_strip_entry_dates(v) for v in node]
    return node


def test_a_snapshot_taken_before_entry_value_dates_still_loads(
    app: LedgerApplication, store_url: str
) -> None:
    """Entry states restored from an old snapshot lack their value dates; the reversal
    rule then reads the date from the entry's recording event."""
    keys = (f"old-snap-{n:04d}" for n in range(100))

    def ctx() -> Context:
        return Context("officer", next(keys))

    app.register_donor(ctx(), code="aitas", name="AITAS")
    entries = [
        app.cover_operating_cost(
            ctx(), donor="aitas", amount=100 + i, currency="KZT", category="monitoring",
            programme=None, value_date=dt.date(2024, 3, 1 + i), reference=f"OP-{i}",
            description="",
        ).response["entry_id"]
        for i in range(5)
    ]  # fmt: skip
    donor = app.get_donor("aitas")
    assert app.snapshots is not None and not list(app.snapshots.get(donor.id))
    stored = app.mapper.to_stored_event(Donor.Snapshot.take(donor))
    assert b"value_date" in stored.state  # what a snapshot keeps from now on
    state = _strip_entry_dates(json.loads(stored.state))
    app.snapshots.recorder.insert_events(
        [dataclasses.replace(stored, state=json.dumps(state).encode())]
    )
    # What reads the old snapshot is a process started after the upgrade; the in-memory
    # store has no other process, so there the same one forgets what it holds.
    upgraded = app if store_url == "memory://" else make_app(store_url)
    if upgraded.repository.cache is not None:
        with contextlib.suppress(KeyError):
            upgraded.repository.cache.get(donor.id, evict=True)
    try:
        restored = upgraded.get_donor("aitas")
        assert restored.version == donor.version
        assert [restored.entries[e].amount for e in entries] == [100, 101, 102, 103, 104]
        assert restored.entries[entries[2]].value_date is None  # from the old snapshot
        with pytest.raises(ReversalBeforeEntry, match="2024-03-03"):
            upgraded.reverse_entry(
                ctx(), entry_id=UUID(entries[2]), reason="typo", value_date=dt.date(2024, 3, 2)
            )
        upgraded.reverse_entry(
            ctx(), entry_id=UUID(entries[2]), reason="typo", value_date=dt.date(2024, 3, 3)
        )
        with pytest.raises(AlreadyReversed):
            upgraded.reverse_entry(ctx(), entry_id=UUID(entries[2]), reason="again")
    finally:
        if upgraded is not app:
            upgraded.close()
