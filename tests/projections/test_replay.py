"""The read side equals the history: incremental == from scratch == sums of the legs."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context
from ledger.domain.errors import DomainError
from ledger.infrastructure.settings import Settings
from projections.rebuild import rebuild, verify
from projections.runner import ProjectionRunner
from projections.store import ReadStore, active_generation, read_store_urls
from projections.tables import tables_for
from server.bootstrap import build_read_store
from tests.conftest import make_app

SCHOOLS = ["khromtau", "arkalyk", "aktau"]
DONORS = ["qazaqstan-halqyna", "aitas", "nis"]


def sqlite_store(path: Path) -> ReadStore:
    """Read models in a SQLite file of their own (LEDGER_PROJECTIONS_URL), the events in memory."""
    config = Settings(database_url="memory://", projections_url=f"sqlite:///{path}/rm.sqlite3")
    return build_read_store(config)


class World:
    """Drives random but valid-looking commands; refused ones are simply refused."""

    def __init__(self, app: LedgerApplication) -> None:
        self.app = app
        self.n = 0
        self.grants: list[UUID] = []
        self.entries: list[UUID] = []
        for code in DONORS:
            app.register_donor(self.ctx(), code=code, name=code.upper())
        app.register_programme(self.ctx(), code="hub-schools", name="Hub schools")
        for i, code in enumerate(SCHOOLS):
            app.register_school(
                self.ctx(), code=code, name=code, school_type="hub",
                region=["aktobe", "kostanay", "mangystau"][i], district="d",
            )  # fmt: skip

    def ctx(self) -> Context:
        self.n += 1
        return Context("tester", f"world-key-{self.n:08d}")

    def do(self, op: str, pick: int, amount: int, day: int) -> None:
        value_date = dt.date(2024, 1, 1) + dt.timedelta(days=day)
        try:
            result = self._do(op, pick, amount, value_date)
        except DomainError:
            return
        if result is not None and "entry_id" in result.response:
            self.entries.append(UUID(result.response["entry_id"]))

    def _do(self, op: str, pick: int, amount: int, value_date: dt.date) -> Any:
        app, school = self.app, SCHOOLS[pick % len(SCHOOLS)]
        if op == "commit" or not self.grants:
            r = app.commit_grant(
                self.ctx(), donor=DONORS[0], school=school, programme="hub-schools",
                amount=amount * 10, currency="KZT", value_date=value_date, reference="A",
            )  # fmt: skip
            self.grants.append(UUID(r.response["grant_id"]))
            return r
        grant = self.grants[pick % len(self.grants)]
        if op == "disburse":
            return app.disburse(
                self.ctx(), grant_id=grant, amount=amount, currency="KZT",
                value_date=value_date, payment_reference="P",
            )  # fmt: skip
        if op == "reduce":
            return app.reduce_grant(
                self.ctx(), grant_id=grant, amount=amount, value_date=value_date, reason="r"
            )
        if op == "spend":
            return app.record_expenditure(
                self.ctx(), school=school, amount=amount, currency="KZT",
                category=["equipment", "connectivity"][pick % 2], value_date=value_date,
                reference="I",
            )  # fmt: skip
        if op == "operate":
            return app.cover_operating_cost(
                self.ctx(), donor="aitas", amount=amount, currency="KZT", category="monitoring",
                programme=None, value_date=value_date, reference="O",
            )  # fmt: skip
        if op == "in-kind":
            return app.contribute_in_kind(
                self.ctx(), donor="nis", kind="teacher-training", fair_value=amount,
                currency="KZT", valuation_basis="v", quantities={"hours": 1}, school=school,
                programme=None, value_date=value_date,
            )  # fmt: skip
        if op == "reverse" and self.entries:
            return app.reverse_entry(
                self.ctx(), entry_id=self.entries[pick % len(self.entries)], reason="fix",
                value_date=value_date,
            )  # fmt: skip
        return None


def legs_balances(app: LedgerApplication) -> dict[tuple[str, str], int]:
    """Account balances straight from the stored events' legs: no read model involved."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for n in app.recorder.select_notifications(start=1, limit=10**7):
        event = app.mapper.to_domain_event(n)
        for leg in getattr(event, "legs", ()):
            totals[(leg.account, leg.currency)] += leg.amount
    return {k: v for k, v in totals.items() if v}


def read_balances(store: ReadStore) -> dict[tuple[str, str], int]:
    with store.engine.connect() as conn:
        b = tables_for(active_generation(conn)).balances
        rows = conn.execute(select(b.c.account, b.c.currency, b.c.balance)).all()
    return {(a, c): int(v) for a, c, v in rows if v}


def programme_balances(store: ReadStore) -> dict[tuple[str, ...], int]:
    with store.engine.connect() as conn:
        pb = tables_for(active_generation(conn)).programme_balances
        rows = conn.execute(select(pb.c.programme, pb.c.account, pb.c.kind, pb.c.currency,
                                   pb.c.balance)).all()  # fmt: skip
    return {(g, a, k, c): int(v) for g, a, k, c, v in rows if v}


def programme_sums_of_postings(store: ReadStore) -> dict[tuple[str, ...], int]:
    sums: dict[tuple[str, ...], int] = defaultdict(int)
    with store.engine.connect() as conn:
        p = tables_for(active_generation(conn)).postings
        for g, a, k, c, v in conn.execute(
            select(p.c.programme, p.c.account, p.c.kind, p.c.currency, p.c.amount).where(
                p.c.programme.is_not(None)
            )
        ).all():
            sums[(g, a, k, c)] += int(v)
    return {key: v for key, v in sums.items() if v}


OPS = st.sampled_from(["commit", "disburse", "reduce", "spend", "operate", "in-kind", "reverse"])
STEP = st.tuples(OPS, st.integers(0, 50), st.integers(1, 10_000), st.integers(0, 700))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(STEP, min_size=1, max_size=40),
    batch=st.integers(1, 7),
    follow_every=st.integers(1, 10),
)
def test_live_equals_replay_equals_legs(
    tmp_path_factory: pytest.TempPathFactory,
    steps: list[tuple[str, int, int, int]],
    batch: int,
    follow_every: int,
) -> None:
    app = make_app("memory://")
    store = sqlite_store(tmp_path_factory.mktemp("rm"))
    try:
        world = World(app)
        # The live runner follows in small, uneven batches while commands arrive.
        live = ProjectionRunner(app.event_log, store, batch_size=batch)
        for i, step in enumerate(steps):
            world.do(*step)
            if i % follow_every == 0:
                live.run_once()
        live.catch_up()
        expected = legs_balances(app)
        assert read_balances(store) == expected
        totals: dict[str, int] = defaultdict(int)
        for (_, currency), balance in expected.items():
            totals[currency] += balance
        assert all(v == 0 for v in totals.values())
        assert programme_balances(store) == programme_sums_of_postings(store)
        assert verify(ProjectionRunner(app.event_log, store, batch_size=97)) == []
    finally:
        store.close()
        app.close()


@pytest.fixture
def followed(tmp_path: Path) -> Iterator[tuple[LedgerApplication, ReadStore, ProjectionRunner]]:
    app = make_app("memory://")
    store = sqlite_store(tmp_path)
    world = World(app)
    for i in range(60):
        world.do(["commit", "disburse", "spend", "reverse", "in-kind"][i % 5], i, 1000 + i, i)
    runner = ProjectionRunner(app.event_log, store)
    runner.catch_up()
    yield app, store, runner
    store.close()
    app.close()


def test_verify_names_a_tampered_balance(
    followed: tuple[LedgerApplication, ReadStore, ProjectionRunner],
) -> None:
    _, store, runner = followed
    assert verify(runner) == []
    with store.engine.begin() as conn:
        b = tables_for(active_generation(conn)).balances
        conn.execute(
            update(b).where(b.c.account == "schools:khromtau:cash").values(balance=b.c.balance + 1)
        )
    differences = verify(runner)
    assert differences
    assert any("schools:khromtau:cash" in d for d in differences)


def test_rebuild_switches_generation_and_equals_live(
    followed: tuple[LedgerApplication, ReadStore, ProjectionRunner],
) -> None:
    app, store, runner = followed
    before = read_balances(store)
    progressed: list[int] = []
    generation = rebuild(runner, progress=progressed.append)
    assert generation == 2
    assert sum(progressed) >= app.log_head()
    assert read_balances(store) == before == legs_balances(app)
    assert verify(runner) == []
    with store.engine.connect() as conn:
        assert active_generation(conn) == 2
        assert not store.engine.dialect.has_table(conn, "rm1_balances")


def test_read_store_sits_beside_the_event_store() -> None:
    pg = read_store_urls("postgresql://u:p@db:5432/ledger?schema=s1")
    assert pg.sync_url == "postgresql+psycopg://u:p@db:5432/ledger"
    assert pg.async_url == "postgresql+asyncpg://u:p@db:5432/ledger"
    assert pg.schema == "s1"
    lite = read_store_urls("sqlite:///var/ledger.sqlite3")
    assert lite.sync_url == "sqlite:///var/ledger.projections.sqlite3"
