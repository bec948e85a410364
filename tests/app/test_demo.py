"""The demo dataset: well formed, valid in order, loads concurrently, and loads once."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context
from ledger.domain.donor import QUANTITY_NAMES
from ledger.domain.registry import CODE_PATTERN, REGIONS
from server.demo import DemoCommand, DemoSummary, demo_commands, load_demo
from tests.conftest import make_app

GRANT = 25_000_000_000  # 250,000,000 KZT in tiyn
ACTOR = "demo-loader"


def by_method(commands: list[DemoCommand], method: str) -> list[DemoCommand]:
    return [c for c in commands if c.method == method]


@pytest.fixture(scope="module")
def commands() -> list[DemoCommand]:
    return demo_commands()


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[LedgerApplication, DemoSummary]]:
    """One load shared by the module's tests: it is the slow part (7-10 s on 2 CPUs).

    Most of it is NIS's ~450 in-kind entries: they all belong to one donor aggregate,
    run one after another, and each command replays that donor's whole history.
    """
    app = make_app("memory://")
    progressed: list[int] = []
    summary = load_demo(app, progress=progressed.append)
    assert sum(progressed) == summary.commands
    yield app, summary
    app.close()


def test_dataset_is_deterministic_and_well_formed(commands: list[DemoCommand]) -> None:
    assert demo_commands() == commands
    assert demo_commands(seed=7) != commands
    assert len({c.key for c in commands}) == len(commands)
    code = re.compile(CODE_PATTERN)
    for c in commands:
        assert callable(getattr(LedgerApplication, c.method, None)), c.method
        assert 8 <= len(c.key) <= 128 and " " not in c.key
        if "value_date" in c.kwargs:
            date = c.kwargs["value_date"]
            assert type(date) is dt.date and dt.date(2022, 1, 1) <= date <= dt.date(2025, 12, 31)
        if c.method == "register_school":
            assert code.match(c.kwargs["code"]) and c.kwargs["region"] in REGIONS
        if c.method == "contribute_in_kind":
            assert set(c.kwargs["quantities"]) <= QUANTITY_NAMES


def test_dataset_matches_the_programme(commands: list[DemoCommand]) -> None:
    schools = by_method(commands, "register_school")
    hubs = {c.kwargs["code"]: c.kwargs for c in schools if c.kwargs["school_type"] == "hub"}
    small = [c.kwargs for c in schools if c.kwargs["school_type"] == "small"]
    assert len(hubs) == 186 and len(small) == 134
    assert "aktobe-khromtau-hub" in hubs
    aktobe = {code for code, s in hubs.items() if s["region"] == "aktobe"}
    assert len(aktobe) == 12 and {s["hub"] for s in small} == aktobe
    regions = Counter(s["region"] for s in hubs.values())
    named = ["almaty", "mangystau", "north-kazakhstan", "kostanay", "akmola", "pavlodar"]
    assert all(regions[r] > 0 for r in [*named, "west-kazakhstan"])
    commits = by_method(commands, "commit_grant")
    assert sorted(c.kwargs["school"] for c in commits) == sorted(hubs)
    cohorts = Counter(c.kwargs["value_date"].year for c in commits)
    assert sum(n for year, n in cohorts.items() if year <= 2024) == 135 and cohorts[2025] == 51
    assert {c.kwargs["donor"] for c in commands if c.method == "cover_operating_cost"} == {"aitas"}
    assert {c.kwargs["donor"] for c in commands if c.method == "contribute_in_kind"} == {"nis"}
    assert len(by_method(commands, "reverse_entry")) >= 4


def test_list_order_keeps_every_rule(commands: list[DemoCommand]) -> None:
    """Replayed by hand in list order: no overdrawn grant, no school spends cash it lacks."""
    undisbursed: Counter[str] = Counter()
    school_of: dict[str, str] = {}
    cash: Counter[str] = Counter()
    # What reversing an entry gives back: (school, cash, grant, undisbursed).
    undo: dict[str, tuple[str, int, str, int]] = {}
    for c in commands:
        k: dict[str, Any] = c.kwargs
        if c.method == "commit_grant":
            undisbursed[c.key], school_of[c.key] = k["amount"], k["school"]
        elif c.method == "disburse":
            assert k["grant_ref"] in school_of, "a disbursement follows its commitment"
            school = school_of[k["grant_ref"]]
            undisbursed[k["grant_ref"]] -= k["amount"]
            cash[school] += k["amount"]
            undo[c.key] = (school, -k["amount"], k["grant_ref"], k["amount"])
        elif c.method == "record_expenditure":
            cash[k["school"]] -= k["amount"]
            undo[c.key] = (k["school"], k["amount"], "", 0)
        elif c.method in ("cover_operating_cost", "contribute_in_kind"):
            undo[c.key] = ("", 0, "", 0)
        elif c.method == "reverse_entry":
            assert k["entry_ref"] in undo, "a reversal follows what it reverses, once"
            school, delta, grant, released = undo.pop(k["entry_ref"])
            cash[school] += delta
            undisbursed[grant] += released
        assert min(undisbursed.values(), default=0) >= 0
        assert min(cash.values(), default=0) >= 0, c.key


def test_load_records_the_programme(
    loaded: tuple[LedgerApplication, DemoSummary], commands: list[DemoCommand]
) -> None:
    app, summary = loaded
    assert summary == DemoSummary(len(commands), 0, app.log_head())
    for c in by_method(commands, "register_school"):
        school = app.get_school(c.kwargs["code"])
        assert (school.school_type, school.hub_code) == (c.kwargs["school_type"], c.kwargs["hub"])
        assert app.get_school_account(school.code).cash_on_hand("KZT") >= 0
    committed = 0
    for c in by_method(commands, "commit_grant"):
        # Asking again under the same key replays the answer: the grant's id.
        again = app.commit_grant(Context(ACTOR, c.key), **c.kwargs)
        assert again.replayed
        grant = app.get_grant(UUID(again.response["grant_id"]))
        assert 0 <= grant.disbursed <= grant.committed == GRANT
        committed += grant.committed
    assert committed == 186 * GRANT


def test_trial_balance_sums_to_zero(loaded: tuple[LedgerApplication, DemoSummary]) -> None:
    app = loaded[0]
    totals: Counter[str] = Counter()
    for n in app.recorder.select_notifications(start=1, limit=app.log_head()):
        for leg in getattr(app.mapper.to_domain_event(n), "legs", ()):
            totals[leg.currency] += leg.amount
    assert list(totals) == ["KZT"] and totals["KZT"] == 0


def test_second_load_replays_everything(
    loaded: tuple[LedgerApplication, DemoSummary],
) -> None:
    app, first = loaded
    head = app.log_head()
    again = load_demo(app)
    assert again == DemoSummary(first.commands, first.commands, first.last_position)
    assert app.log_head() == head
