"""Pending disbursements on the read side: followed in any batching == a replay of the log."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ledger.application.approval_policy import ApprovalPolicy
from ledger.application.unit_of_work import Context
from ledger.domain.errors import DomainError
from projections.rebuild import verify
from projections.runner import ProjectionRunner
from projections.store import ReadStore, active_generation
from projections.tables import tables_for
from tests.conftest import make_app
from tests.projections.test_replay import sqlite_store

STEPS = st.lists(
    st.tuples(
        st.sampled_from(["request", "pay", "approve", "reject", "expire", "follow"]),
        st.integers(0, 9),
        st.integers(1, 9_000),
    ),
    max_size=30,
)


def pending_rows(store: ReadStore) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        p = tables_for(active_generation(conn)).pending
        return [dict(r) for r in conn.execute(select(p).order_by(p.c.position)).mappings()]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(steps=STEPS, batch=st.integers(1, 5))
def test_pending_rows_follow_the_log(
    tmp_path_factory: pytest.TempPathFactory, steps: Any, batch: int
) -> None:
    app = make_app("memory://")
    # Threshold 1,000 minor units: requests above it wait; a short life so some expire.
    app.approvals = ApprovalPolicy({"KZT": 1_000}, dt.timedelta(hours=1))
    store = sqlite_store(tmp_path_factory.mktemp("rm"))
    n = 0

    def ctx(actor: str = "maker") -> Context:
        nonlocal n
        n += 1
        return Context(actor, f"pending-key-{n:08d}")

    try:
        app.register_donor(ctx(), code="fund", name="Fund")
        app.register_school(ctx(), code="hub", name="Hub", school_type="hub", region="aktobe",
                            district="d")  # fmt: skip
        grant = UUID(app.commit_grant(
            ctx(), donor="fund", school="hub", programme=None, amount=50_000, currency="KZT",
            value_date=dt.date(2025, 1, 1), reference="AGR",
        ).response["grant_id"])  # fmt: skip
        live = ProjectionRunner(app.event_log, store, batch_size=batch)
        requested: list[UUID] = []
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
        for op, pick, amount in steps:
            target = requested[pick % len(requested)] if requested else grant
            try:
                if op in ("request", "pay"):
                    # "pay" stays at or under the threshold: posted at once.
                    size = amount if op == "request" else amount % 1_000 + 1
                    recorded = app.disburse(
                        ctx(), grant_id=grant, amount=size,
                        currency="KZT", value_date=dt.date(2025, 2, 1), payment_reference="PP",
                    )  # fmt: skip
                    if recorded.response.get("status") == "pending":
                        requested.append(UUID(recorded.response["entry_id"]))
                elif op == "approve":
                    app.approve_disbursement(ctx("checker"), entry_id=target, reason="ok")
                elif op == "reject":
                    app.reject_disbursement(ctx("checker"), entry_id=target, reason="no")
                elif op == "expire":
                    app.expire_disbursement(target, now=later)
                else:
                    live.run_once()
            except DomainError:
                pass
        live.catch_up()
        rows = pending_rows(store)
        assert [UUID(r["entry_id"]) for r in rows] == requested
        still = {r["entry_id"] for r in rows if r["status"] == "pending"}
        assert still == set(app.get_grant(grant).reservations)
        assert sum(r["amount"] for r in rows if r["status"] == "pending") == (
            app.get_grant(grant).reserved
        )
        assert verify(ProjectionRunner(app.event_log, store, batch_size=3)) == []
    finally:
        store.close()
        app.close()
