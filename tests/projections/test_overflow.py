"""Sums past 2**63: the read side stays exact and live, on every store.

The attack needs no approval: 9,225 in-kind contributions of the largest entry amount
(10**15 minor units) to one school take its in-kind balance past 2**63. The test makes
the same sum from three entries of 2**62 (the entry cap raised for the test): the read
side's arithmetic does not depend on how many entries make a sum.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context
from ledger.domain import money
from projections.rebuild import verify
from projections.store import ReadStore, active_generation
from projections.tables import tables_for
from projections.upgrade import widen_balances
from projections.writer import BatchApplier

BIG = 2**62
CONTRIBUTIONS = 3
DAY = dt.date(2025, 2, 3)
_keys = itertools.count()


def ctx() -> Context:
    return Context(actor="alice", idempotency_key=f"overflow-{next(_keys):08d}")


def contribute(ledger: LedgerApplication, **where: Any) -> int:
    return ledger.contribute_in_kind(
        ctx(), donor="giver", kind="laptops", fair_value=BIG, currency="KZT",
        valuation_basis="invoice", quantities={}, value_date=DAY, **where,
    ).position  # fmt: skip


def test_a_balance_past_2_to_the_63_stays_exact_and_the_read_side_live(
    client: TestClient, ledger: LedgerApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(money, "MAX_ENTRY_AMOUNT", BIG)
    ledger.register_donor(ctx(), code="giver", name="Giver")
    ledger.register_programme(ctx(), code="prog", name="Programme")
    ledger.register_school(
        ctx(), code="target", name="Target", school_type="hub", region="aktobe",
        district="Khromtau",
    )  # fmt: skip
    for _ in range(CONTRIBUTIONS):
        contribute(ledger, school="target", programme=None)
    last = contribute(ledger, school=None, programme="prog")
    one_more = ledger.contribute_in_kind(
        ctx(), donor="giver", kind="laptops", fair_value=1, currency="KZT",
        valuation_basis="invoice", quantities={}, value_date=DAY, school="target",
        programme=None,
    ).position  # fmt: skip
    assert one_more > last
    expected = CONTRIBUTIONS * BIG + 1
    assert expected > 2**63

    at = {"min_position": one_more}
    school = client.get("/v1/balances/schools/target", params=at)
    assert school.status_code == 200, school.text
    [figures] = school.json()["figures"]
    assert figures["in_kind_received"] == expected  # exact: one tiyn more is one tiyn more
    accounts = client.get("/v1/balances/accounts", params=at)
    assert accounts.status_code == 200, accounts.text
    by_account = {a["account"]: a["balance"] for a in accounts.json()["accounts"]}
    assert by_account["schools:target:inkind:laptops"] == expected
    assert by_account["donors:giver:inkind"] == -(expected + BIG)
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert verify(client.app.state.read_side.runner) == []  # type: ignore[attr-defined]


def test_verify_fails_loudly_when_the_read_side_is_stuck(
    client: TestClient, ledger: LedgerApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = client.app.state.read_side.runner  # type: ignore[attr-defined]
    ledger.register_donor(ctx(), code="giver", name="Giver")
    assert verify(runner) == []
    original = BatchApplier.apply

    def poisoned(self: BatchApplier, event: Any, position: int) -> None:
        if type(event).__qualname__.startswith("Programme"):
            msg = "simulated: this event cannot be applied"
            raise RuntimeError(msg)
        original(self, event, position)

    monkeypatch.setattr(BatchApplier, "apply", poisoned)
    stuck = ledger.register_programme(ctx(), code="prog", name="Programme").position
    differences = verify(runner, head_wait_seconds=1.0)
    assert any(f"behind the log head {stuck}" in d for d in differences), differences
    assert any("cannot be applied" in d for d in differences), differences


def test_a_generation_made_before_exact_balances_is_widened_at_start(store_url: str) -> None:
    store = ReadStore.for_database(store_url)
    try:
        store.ensure_schema()
        with store.engine.begin() as conn:
            live = tables_for(active_generation(conn))
            for table in (live.balances, live.programme_balances):
                if conn.dialect.name == "postgresql":
                    conn.execute(text(f'ALTER TABLE "{table.name}" ALTER balance TYPE BIGINT'))
                else:
                    keys = [c.name for c in table.primary_key.columns]
                    conn.execute(text(f'DROP TABLE "{table.name}"'))
                    columns = ", ".join(f"{k} VARCHAR(255) NOT NULL" for k in keys)
                    key = ", ".join(keys)
                    ddl = f'CREATE TABLE "{table.name}" ({columns}, balance BIGINT NOT NULL, '
                    conn.execute(text(ddl + f"PRIMARY KEY ({key}))"))
            conn.execute(live.balances.insert().values(account="a", currency="KZT", balance=-5))
        store.ensure_schema()
        with store.engine.begin() as conn:
            assert widen_balances(conn, live) == []  # already exact
            big = 2**64 + 1
            conn.execute(live.balances.insert().values(account="b", currency="KZT", balance=big))
            stmt = select(live.balances.c.account, live.balances.c.balance)
            rows = {a: b for a, b in conn.execute(stmt).all()}
        assert rows == {"a": -5, "b": big}
    finally:
        store.close()
