"""Snapshots keep busy aggregates cheap to load, and restore exactly the same state."""

from __future__ import annotations

import datetime as dt
import itertools
from uuid import UUID

import pytest

from ledger.application.app import LedgerApplication
from ledger.application.core import SNAPSHOT_INTERVAL, snapshot_due
from ledger.application.unit_of_work import Context
from ledger.domain.errors import AlreadyReversed


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
    app.snapshot_writer.flush()
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


def test_snapshot_spacing_keeps_the_cost_per_event_constant() -> None:
    """Small aggregates every interval; a large one at most a quarter of its length
    apart (a cold load replays little), and the sizes snapshotted up to any version add
    up to a bounded multiple of it (a hot grant's commands do not slow as it grows)."""
    due = [v for v in range(1, 200_001) if snapshot_due(v, SNAPSHOT_INTERVAL)]
    assert due[:8] == [SNAPSHOT_INTERVAL * k for k in range(1, 9)]
    for earlier, later in itertools.pairwise(due):
        assert later - earlier <= max(SNAPSHOT_INTERVAL, later // 4)
    for limit in (1_000, 10_000, 200_000):
        assert sum(v for v in due if v <= limit) <= 16 * limit
