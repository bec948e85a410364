"""Maker-checker and fiscal periods through the application, on memory, SQLite and PostgreSQL.

Each test checks what the event log holds afterwards: refused commands record
nothing, approvals post a direct disbursement's legs with the school's cash, and a
close and concurrent entries never interleave within one process.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from ledger.application.app import LedgerApplication
from ledger.application.approval_commands import EXPIRY_ACTOR
from ledger.application.approval_policy import ApprovalPolicy
from ledger.application.unit_of_work import Context, Recorded
from ledger.domain.errors import (
    ApprovalExpired,
    DomainError,
    InsufficientUndisbursed,
    NotPending,
    PeriodClosed,
    PeriodState,
    SelfApprovalForbidden,
)
from tests.conftest import make_app

GRANT = 25_000_000_000
BIG = 20_000_000_000  # above the 50,000,000 KZT threshold
SMALL = 1_000_000_000
MARCH = dt.date(2025, 3, 10)
APRIL = dt.date(2025, 4, 10)
_keys = itertools.count()


def ctx(actor: str = "officer-aigerim", key: str | None = None) -> Context:
    return Context(actor, key or f"appr-key-{next(_keys):08d}")


def events(app: LedgerApplication, after: int = 0) -> list[tuple[int, Any]]:
    notes = app.recorder.select_notifications(start=after + 1, limit=10**6)
    return [(n.id, app.mapper.to_domain_event(n)) for n in notes]


def names(app: LedgerApplication, after: int) -> list[str]:
    return [type(e).__qualname__ for _, e in events(app, after)]


def refused(app: LedgerApplication, error: type[DomainError], command: Callable[[], Any]) -> None:
    head = app.log_head()
    with pytest.raises(DomainError) as info:
        command()
    assert type(info.value) is error, info.value
    assert app.log_head() == head


@pytest.fixture
def world(app: LedgerApplication) -> tuple[LedgerApplication, UUID]:
    app.approvals = ApprovalPolicy()
    app.periods.refresh_seconds = 0
    app.register_donor(ctx(), code="qazaqstan-halqyna", name="QH")
    app.register_school(
        ctx(), code="khromtau", name="Khromtau", school_type="hub", region="aktobe",
        district="Khromtau",
    )  # fmt: skip
    committed = app.commit_grant(
        ctx(), donor="qazaqstan-halqyna", school="khromtau", programme=None, amount=GRANT,
        currency="KZT", value_date=dt.date(2025, 1, 10), reference="AGR-1",
    )  # fmt: skip
    return app, UUID(committed.response["grant_id"])


def disburse(app: LedgerApplication, grant: UUID, amount: int, c: Context | None = None,
             day: dt.date = MARCH) -> Recorded:  # fmt: skip
    return app.disburse(
        c or ctx(), grant_id=grant, amount=amount, currency="KZT", value_date=day,
        payment_reference="PP-1",
    )  # fmt: skip


def legs(app: LedgerApplication, after: int) -> list[tuple[str, int]]:
    return [
        (leg.account, leg.amount) for _, e in events(app, after) for leg in getattr(e, "legs", ())
    ]


def test_above_the_threshold_waits_and_the_approval_posts_with_the_cash(
    world: tuple[LedgerApplication, UUID],
) -> None:
    app, grant = world
    small = disburse(app, grant, SMALL)
    assert "status" not in small.response  # at or below the threshold: posted at once
    head = app.log_head()
    pending = disburse(app, grant, BIG)
    assert pending.response["status"] == "pending"
    assert names(app, head) == [
        "PendingDisbursements.DisbursementRequested", "EntryLocator.Registered",
        "IdempotencyClaim.Claimed",
    ]  # fmt: skip
    assert app.get_school_account("khromtau").cash_on_hand("KZT") == SMALL
    assert app.get_grant(grant).available == GRANT - SMALL - BIG
    refused(app, InsufficientUndisbursed, lambda: disburse(app, grant, GRANT - SMALL - BIG + 1))

    entry = UUID(pending.response["entry_id"])
    refused(
        app, SelfApprovalForbidden,
        lambda: app.approve_disbursement(ctx("officer-aigerim"), entry_id=entry, reason="mine"),
    )  # fmt: skip
    head = app.log_head()
    approved = app.approve_disbursement(ctx("approver-daniyar"), entry_id=entry, reason="ok")
    assert approved.response == {
        "grant_id": str(grant), "entry_id": str(entry), "status": "approved",
    }  # fmt: skip
    assert names(app, head) == [
        "PendingDisbursements.DisbursementApproved", "SchoolAccount.FundsReceived",
        "IdempotencyClaim.Claimed",
    ]  # fmt: skip
    assert legs(app, head) == [
        ("schools:khromtau:cash", BIG), ("donors:qazaqstan-halqyna:disbursed", -BIG),
        ("commitments:pledged:qazaqstan-halqyna", BIG), ("commitments:receivable:khromtau", -BIG),
    ]  # fmt: skip
    assert app.get_school_account("khromtau").cash_on_hand("KZT") == SMALL + BIG
    assert app.get_grant(grant).disbursed == SMALL + BIG
    refused(
        app, NotPending,
        lambda: app.reject_disbursement(ctx("approver-daniyar"), entry_id=entry, reason="late"),
    )  # fmt: skip
    # Approved, it reverses like any disbursement.
    app.reverse_entry(ctx(), entry_id=entry, reason="paid twice", value_date=APRIL)
    assert app.get_school_account("khromtau").cash_on_hand("KZT") == SMALL


def test_retries_replay_requests_and_decisions(world: tuple[LedgerApplication, UUID]) -> None:
    app, grant = world
    c = ctx()
    first = disburse(app, grant, BIG, c)
    head = app.log_head()
    again = disburse(app, grant, BIG, c)
    assert again.replayed and again.response == first.response
    entry = UUID(first.response["entry_id"])
    d = ctx("approver-daniyar")
    rejected = app.reject_disbursement(d, entry_id=entry, reason="wrong account")
    assert app.reject_disbursement(d, entry_id=entry, reason="wrong account").replayed
    assert rejected.response["status"] == "rejected"
    assert names(app, head).count("PendingDisbursements.DisbursementRejected") == 1
    assert app.get_grant(grant).available == GRANT


def test_expiry_refuses_approval_then_the_sweep_releases_once(
    world: tuple[LedgerApplication, UUID],
) -> None:
    app, grant = world
    app.approvals = ApprovalPolicy(ttl=dt.timedelta(0))
    entry = UUID(disburse(app, grant, BIG).response["entry_id"])
    refused(
        app, ApprovalExpired,
        lambda: app.approve_disbursement(ctx("approver-daniyar"), entry_id=entry, reason="ok"),
    )  # fmt: skip
    head = app.log_head()
    expired = app.expire_disbursement(entry)
    assert expired.response["status"] == "expired"
    # A second sweeper (another process) replays the same key: one expiry in the log.
    assert app.expire_disbursement(entry).replayed
    [(_, event)] = [(p, e) for p, e in events(app, head) if hasattr(e, "expires_at")]
    assert event.actor == EXPIRY_ACTOR
    assert app.get_grant(grant).available == GRANT


def test_an_early_sweep_records_nothing(world: tuple[LedgerApplication, UUID]) -> None:
    app, grant = world
    entry = UUID(disburse(app, grant, BIG).response["entry_id"])
    refused(app, NotPending, lambda: app.expire_disbursement(entry))


@pytest.mark.durable
def test_a_snapshot_keeps_the_reservations(
    store_url: str, world: tuple[LedgerApplication, UUID]
) -> None:
    app, grant = world
    entry = disburse(app, grant, BIG).response["entry_id"]
    app.take_snapshot(grant)
    restarted = make_app(store_url)
    try:
        assert restarted.snapshots is not None
        assert [s.originator_version for s in restarted.snapshots.get(grant)] == [2]
        reloaded = restarted.get_grant(grant)
        assert reloaded.reservations == app.get_grant(grant).reservations
        assert reloaded.reservations[entry].amount == BIG
    finally:
        restarted.close()


# -- fiscal periods -------------------------------------------------------------------


def close(app: LedgerApplication, period: str) -> Recorded:
    return app.close_period(ctx("approver-daniyar"), period=period, reason="books closed")


FINANCIAL: dict[str, Callable[[LedgerApplication, UUID, dt.date], Any]] = {
    "commitment": lambda app, g, day: app.commit_grant(
        ctx(), donor="qazaqstan-halqyna", school="khromtau", programme=None, amount=1,
        currency="KZT", value_date=day, reference="AGR-2",
    ),
    "disbursement": lambda app, g, day: disburse(app, g, SMALL, day=day),
    "pending disbursement": lambda app, g, day: disburse(app, g, BIG, day=day),
    "reduction": lambda app, g, day: app.reduce_grant(
        ctx(), grant_id=g, amount=1, value_date=day, reason="scope"
    ),
    "expenditure": lambda app, g, day: app.record_expenditure(
        ctx(), school="khromtau", amount=1, currency="KZT", category="equipment",
        value_date=day, reference="INV-1",
    ),
    "operating cost": lambda app, g, day: app.cover_operating_cost(
        ctx(), donor="qazaqstan-halqyna", amount=1, currency="KZT", category="monitoring",
        programme=None, value_date=day, reference="OPS-1",
    ),
    "in kind": lambda app, g, day: app.contribute_in_kind(
        ctx(), donor="qazaqstan-halqyna", kind="teacher-training", fair_value=1,
        currency="KZT", valuation_basis="cost", quantities={}, school="khromtau",
        programme=None, value_date=day,
    ),
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(FINANCIAL))
def test_a_closed_period_refuses_every_financial_command(
    world: tuple[LedgerApplication, UUID], command: str
) -> None:
    app, grant = world
    disburse(app, grant, SMALL)  # cash for the expenditure
    close(app, "2025-03")
    refused(app, PeriodClosed, lambda: FINANCIAL[command](app, grant, MARCH))
    FINANCIAL[command](app, grant, APRIL)


def test_corrections_go_into_an_open_period_and_approvals_follow_the_calendar(
    world: tuple[LedgerApplication, UUID],
) -> None:
    app, grant = world
    paid = disburse(app, grant, SMALL)
    pending = UUID(disburse(app, grant, BIG).response["entry_id"])
    close(app, "2025-Q1")
    original = UUID(paid.response["entry_id"])
    refused(app, PeriodClosed, lambda: app.reverse_entry(
        ctx(), entry_id=original, reason="wrong", value_date=MARCH))  # fmt: skip
    refused(app, PeriodClosed, lambda: app.approve_disbursement(
        ctx("approver-daniyar"), entry_id=pending, reason="ok"))  # fmt: skip
    correction = app.reverse_entry(ctx(), entry_id=original, reason="wrong", value_date=APRIL)
    assert correction.response["reverses"] == str(original)
    # Rejecting posts nothing: allowed whatever the calendar says.
    app.reject_disbursement(ctx("approver-daniyar"), entry_id=pending, reason="period closed")
    refused(app, PeriodState, lambda: close(app, "2025-Q1"))
    app.reopen_period(ctx("approver-daniyar"), period="2025-Q1", reason="late bank statement")
    disburse(app, grant, SMALL)
    calendar = app.get_calendar()
    assert calendar is not None and calendar.closed == {}
    assert [h["action"] for h in calendar.history] == ["closed", "reopened"]


@pytest.mark.durable
def test_a_close_in_another_process_is_a_hard_cut(
    store_url: str, world: tuple[LedgerApplication, UUID]
) -> None:
    """The other process decides on the calendar it read before the close; the
    commit checks that calendar is still the stored one, fails, and the entry is
    decided again and refused."""
    app, grant = world
    other = make_app(store_url)
    try:
        disburse(other, grant, SMALL)  # reads the (empty) calendar now
        close(app, "2025-03")
        refused(other, PeriodClosed, lambda: disburse(other, grant, SMALL))
    finally:
        other.close()


def test_a_close_and_concurrent_entries_never_interleave_in_one_process(
    world: tuple[LedgerApplication, UUID],
) -> None:
    app, _ = world
    app.periods.refresh_seconds = 3600  # only the in-process lock and invalidation count
    outcomes: Counter[str] = Counter()
    start = threading.Barrier(5)

    def commit_many() -> None:
        start.wait()
        for _ in range(15):
            try:
                FINANCIAL["commitment"](app, UUID(int=0), MARCH)
                outcomes["recorded"] += 1
            except PeriodClosed:
                outcomes["refused"] += 1

    threads = [threading.Thread(target=commit_many) for _ in range(4)]
    for t in threads:
        t.start()
    start.wait()
    closed_at = close(app, "2025-03").position
    for t in threads:
        t.join()
    dated_in_march = [
        p for p, e in events(app) if type(e).__qualname__ == "Grant.Committed"
        and e.value_date == MARCH
    ]  # fmt: skip
    assert len(dated_in_march) == outcomes["recorded"]
    assert all(p < closed_at for p in dated_in_march)
    assert outcomes["recorded"] + outcomes["refused"] == 60
