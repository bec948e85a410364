"""Snapshots keep busy aggregates cheap to load, and restore exactly the same state."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import pytest

from ledger.application.app import LedgerApplication
from ledger.application.core import SNAPSHOT_INTERVAL
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
