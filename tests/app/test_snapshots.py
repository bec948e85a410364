"""Snapshots keep busy aggregates cheap to load, and restore exactly the same state."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from typing import Any
from uuid import UUID

import pytest

from ledger.application.app import LedgerApplication
from ledger.application.core import SNAPSHOT_INTERVAL
from ledger.application.unit_of_work import Context
from ledger.domain.donor import Donor
from ledger.domain.errors import AlreadyReversed, ReversalBeforeEntry
from tests.conftest import make_app


def test_donor_snapshot_restores_entries_and_reversal_state(app: LedgerApplication) -> None:
    n = 0

    def ctx() -> Context:
        nonlocal n
        n += 1
        return Context("officer", f"snap-key-{n:06d}")

    app.register_donor(ctx(), code="nis", name="NIS")
    app.register_programme(ctx(), code="hub-schools", name="Hub schools")
    entries = [
        UUID(
            app.contribute_in_kind(
                ctx(), donor="nis", kind="teacher-training", fair_value=1_000 + i,
                currency="KZT", valuation_basis="course cost", quantities={"hours": 36},
                school=None, programme="hub-schools", value_date=dt.date(2024, 1, 1),
            ).response["entry_id"]
        )
        for i in range(SNAPSHOT_INTERVAL + 5)
    ]  # fmt: skip
    donor = app.get_donor("nis")
    assert app.snapshots is not None
    snapshots = list(app.snapshots.get(donor.id))
    assert [s.originator_version for s in snapshots] == [SNAPSHOT_INTERVAL]
    assert len(donor.entries) == SNAPSHOT_INTERVAL + 5
    assert donor.entries[str(entries[0])].amount == 1_000
    # State restored from the snapshot still knows the legs and the reversal rule.
    app.reverse_entry(ctx(), entry_id=entries[0], reason="valued twice")
    with pytest.raises(AlreadyReversed):
        app.reverse_entry(ctx(), entry_id=entries[0], reason="again")
    legs = app.get_donor("nis").entries[str(entries[1])].legs
    assert [leg.account for leg in legs] == [
        "programmes:hub-schools:inkind:teacher-training",
        "donors:nis:inkind",
    ]


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
