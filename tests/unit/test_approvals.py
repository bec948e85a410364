"""Maker-checker and fiscal periods in the domain: given past events, when a command, then what.

Aggregates only, rebuilt from their events as a repository would; no store.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given as hgiven
from hypothesis import settings
from hypothesis import strategies as st

from ledger.domain.approvals import Reservation
from ledger.domain.errors import (
    ApprovalExpired,
    InsufficientUndisbursed,
    InvalidValue,
    NotPending,
    NotReversible,
    PeriodClosed,
    PeriodState,
    SelfApprovalForbidden,
)
from ledger.domain.grant import Grant
from ledger.domain.periods import FiscalCalendar, parse_period

MAKER = {"actor": "officer-aigerim", "idempotency_key": "key-maker-0001"}
CHECKER = {"actor": "approver-daniyar", "idempotency_key": "key-check-0001"}
GRANT = 25_000_000_000
DAY = dt.date(2025, 3, 3)
NOW = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)
DEADLINE = NOW + dt.timedelta(hours=72)


def replay(events: list[Any]) -> Any:
    aggregate = None
    for e in events:
        aggregate = e.mutate(aggregate)
    return aggregate


def fresh_grant() -> Grant:
    return Grant.commit(
        entry_id=str(uuid4()), donor="qazaqstan-halqyna", school="aktobe-khromtau-hub",
        programme=None, amount=GRANT, currency="KZT", value_date=dt.date(2025, 1, 10),
        reference="AGR-1", **MAKER,
    )  # fmt: skip


def granted(*steps: Any) -> Grant:
    """A 250,000,000 KZT grant with ``steps`` applied, rebuilt from its events."""
    grant = fresh_grant()
    for step in steps:
        step(grant)
    rebuilt: Grant = replay(list(grant.collect_events()))
    return rebuilt


def requested(entry_id: str, amount: int, expires_at: dt.datetime = DEADLINE) -> Any:
    def step(grant: Grant) -> None:
        grant.request_disbursement(
            entry_id=entry_id, amount=amount, currency="KZT", value_date=DAY,
            payment_reference="PP-77", expires_at=expires_at, **MAKER,
        )  # fmt: skip

    return step


def events_of(grant: Grant) -> list[str]:
    return [type(e).__qualname__ for e in grant.collect_events()]


class TestRequest:
    def test_a_request_reserves_and_posts_nothing(self) -> None:
        grant = granted()
        requested("e1", 20_000_000_000)(grant)
        events = list(grant.collect_events())
        assert [type(e).__qualname__ for e in events] == [
            "PendingDisbursements.DisbursementRequested"
        ]
        assert not hasattr(events[0], "legs")
        assert events[0].expires_at == DEADLINE and events[0].actor == MAKER["actor"]
        assert (grant.disbursed, grant.reserved, grant.available) == (0, 20e9, 5e9)
        assert grant.undisbursed == GRANT  # still owed: only reserved

    def test_the_reservation_blocks_other_disbursements_and_reductions(self) -> None:
        grant = granted(requested("e1", 20_000_000_000))
        with pytest.raises(InsufficientUndisbursed, match="reserved by pending"):
            grant.disburse(
                entry_id="e2", amount=5_000_000_001, currency="KZT", value_date=DAY,
                payment_reference="PP-78", **MAKER,
            )  # fmt: skip
        with pytest.raises(InsufficientUndisbursed):
            requested("e3", 5_000_000_001)(grant)
        with pytest.raises(InsufficientUndisbursed):
            grant.reduce(entry_id="e4", amount=5_000_000_001, value_date=DAY, reason="r", **MAKER)
        assert grant.reduce(entry_id="e5", amount=None, value_date=DAY, reason="r", **MAKER) == (
            5_000_000_000
        )  # cancelling takes only what is not reserved
        assert grant.pending_events[-1].amount == 5_000_000_000

    def test_a_request_is_checked_like_a_disbursement(self) -> None:
        grant = granted()
        with pytest.raises(InvalidValue):
            grant.request_disbursement(
                entry_id="e1", amount=1, currency="KZT", value_date=dt.date(1999, 1, 1),
                payment_reference="PP", expires_at=DEADLINE, **MAKER,
            )  # fmt: skip
        with pytest.raises(InvalidValue, match="timezone"):
            requested("e1", 1, expires_at=dt.datetime(2025, 3, 6))(grant)  # noqa: DTZ001
        assert grant.pending_events == []


class TestDecisions:
    def test_approval_by_another_person_posts_the_direct_disbursements_legs(self) -> None:
        direct = granted()
        direct.disburse(
            entry_id="e1", amount=20_000_000_000, currency="KZT", value_date=DAY,
            payment_reference="PP-77", **MAKER,
        )  # fmt: skip
        direct_legs = direct.pending_events[-1].legs
        grant = granted(requested("e1", 20_000_000_000))
        approved = grant.approve_disbursement(entry_id="e1", reason="ok", now=NOW, **CHECKER)
        assert approved.amount == 20_000_000_000
        [event] = list(grant.collect_events())
        assert type(event).__qualname__ == "PendingDisbursements.DisbursementApproved"
        assert event.legs == direct_legs
        assert (event.actor, event.requested_by, event.reason) == (
            CHECKER["actor"], MAKER["actor"], "ok",
        )  # fmt: skip
        assert (grant.disbursed, grant.reserved, grant.available) == (20e9, 0, 5e9)
        assert grant.entries["e1"].kind == "disbursement"

    def test_the_maker_can_never_approve_their_own(self) -> None:
        grant = granted(requested("e1", 20_000_000_000))
        with pytest.raises(SelfApprovalForbidden):
            grant.approve_disbursement(entry_id="e1", reason="mine", now=NOW, **MAKER)
        assert grant.pending_events == [] and grant.reserved == 20_000_000_000

    def test_approval_after_the_deadline_is_refused_before_any_sweep(self) -> None:
        grant = granted(requested("e1", 20_000_000_000))
        late = DEADLINE + dt.timedelta(microseconds=1)
        with pytest.raises(ApprovalExpired):
            grant.approve_disbursement(entry_id="e1", reason="late", now=late, **CHECKER)
        grant.approve_disbursement(entry_id="e1", reason="just in time", now=DEADLINE, **CHECKER)

    def test_rejection_releases_the_reservation(self) -> None:
        grant = granted(requested("e1", 20_000_000_000))
        grant.reject_disbursement(entry_id="e1", reason="wrong account", **MAKER)
        assert events_of(grant) == ["PendingDisbursements.DisbursementRejected"]
        assert (grant.reserved, grant.available, grant.disbursed) == (0, GRANT, 0)
        assert "e1" not in grant.entries

    def test_expiry_only_after_the_deadline_and_releases(self) -> None:
        grant = granted(requested("e1", 20_000_000_000))
        with pytest.raises(NotPending, match="pending until"):
            grant.expire_disbursement(entry_id="e1", now=DEADLINE, **CHECKER)
        grant.expire_disbursement(entry_id="e1", now=DEADLINE + dt.timedelta(seconds=1), **CHECKER)
        [event] = list(grant.collect_events())
        assert type(event).__qualname__ == "PendingDisbursements.DisbursementExpired"
        assert event.expires_at == DEADLINE
        assert grant.available == GRANT

    @pytest.mark.parametrize("decided", ["approve", "reject", "expire", "unknown"])
    def test_a_decided_or_unknown_item_is_not_pending(self, decided: str) -> None:
        grant = granted(requested("e1", 20_000_000_000))
        late = DEADLINE + dt.timedelta(days=1)
        if decided == "approve":
            grant.approve_disbursement(entry_id="e1", reason="ok", now=NOW, **CHECKER)
        elif decided == "reject":
            grant.reject_disbursement(entry_id="e1", reason="no", **CHECKER)
        elif decided == "expire":
            grant.expire_disbursement(entry_id="e1", now=late, **CHECKER)
        target = "e1" if decided != "unknown" else "nope"
        for attempt in (
            lambda: grant.approve_disbursement(entry_id=target, reason="x", now=NOW, **CHECKER),
            lambda: grant.reject_disbursement(entry_id=target, reason="x", **CHECKER),
            lambda: grant.expire_disbursement(entry_id=target, now=late, **CHECKER),
        ):
            with pytest.raises(NotPending):
                attempt()

    def test_reversals_and_pending_items(self) -> None:
        grant = granted(requested("e1", 20_000_000_000))
        with pytest.raises(NotReversible, match="pending"):
            grant.reverse(
                entry_id="e1", reversal_entry_id="r1", value_date=DAY, reason="x", **CHECKER
            )
        with pytest.raises(NotReversible, match="pending disbursements"):
            grant.reverse(
                entry_id=grant.commitment_entry, reversal_entry_id="r2", value_date=DAY,
                reason="x", **CHECKER,
            )  # fmt: skip
        grant.approve_disbursement(entry_id="e1", reason="ok", now=NOW, **CHECKER)
        grant.reverse(entry_id="e1", reversal_entry_id="r3", value_date=DAY, reason="x", **MAKER)
        assert (grant.disbursed, grant.available) == (0, GRANT)

    def test_reservations_are_shared_not_copied_by_cached_copies(self) -> None:
        import copy

        grant = granted(requested("e1", 20_000_000_000))
        clone = copy.deepcopy(grant)
        assert clone.reservations == grant.reservations
        assert clone.reservations is not grant.reservations
        assert isinstance(clone.reservations["e1"], Reservation)


# -- property: reservations + disbursements never exceed the grant ----------------------

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["disburse", "request", "approve", "reject", "expire", "reduce"]),
        st.integers(min_value=1, max_value=GRANT),
        st.integers(min_value=0, max_value=7),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@hgiven(ACTIONS)
def test_reservations_and_disbursements_never_exceed_the_commitment(actions: Any) -> None:
    grant = fresh_grant()  # its events accumulate: replayed at the end
    ids: list[str] = []
    for n, (action, amount, pick) in enumerate(actions):
        target = ids[pick % len(ids)] if ids else "none"
        meta = {"actor": CHECKER["actor"], "idempotency_key": f"k-{n}"}
        try:
            if action == "disburse":
                grant.disburse(
                    entry_id=f"d{n}", amount=amount, currency="KZT", value_date=DAY,
                    payment_reference="PP", **MAKER,
                )  # fmt: skip
            elif action == "request":
                requested(f"p{n}", amount)(grant)
                ids.append(f"p{n}")
            elif action == "approve":
                grant.approve_disbursement(entry_id=target, reason="ok", now=NOW, **meta)
            elif action == "reject":
                grant.reject_disbursement(entry_id=target, reason="no", **meta)
            elif action == "expire":
                late = DEADLINE + dt.timedelta(seconds=1)
                grant.expire_disbursement(entry_id=target, now=late, **meta)
            else:
                grant.reduce(entry_id=f"r{n}", amount=amount, value_date=DAY, reason="r", **MAKER)
        except (InsufficientUndisbursed, NotPending):
            pass
        assert 0 <= grant.disbursed + grant.reserved <= grant.committed <= GRANT
        assert grant.available >= 0
    rebuilt: Grant = replay(list(grant.collect_events()))
    assert (rebuilt.committed, rebuilt.disbursed, rebuilt.reserved) == (
        grant.committed, grant.disbursed, grant.reserved,
    )  # fmt: skip
    assert rebuilt.reservations == grant.reservations


# -- fiscal periods ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("2025-03", dt.date(2025, 3, 1), dt.date(2025, 3, 31)),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("2025-12", dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
        ("2025-Q1", dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
        ("2025-Q4", dt.date(2025, 10, 1), dt.date(2025, 12, 31)),
    ],
)
def test_periods_are_months_and_quarters(name: str, start: dt.date, end: dt.date) -> None:
    period = parse_period(name)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize(
    "bad",
    [
        "2025-13",
        "2025-00",
        "2025-Q5",
        "2025-3",
        "25-03",
        "1999-12",
        "0000-01",
        "9999-Q4",
        "2101-01",
    ],
)
def test_other_period_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidValue):
        parse_period(bad)


def calendar(*steps: Any) -> FiscalCalendar:
    cal = FiscalCalendar(**MAKER)
    for step in steps:
        step(cal)
    rebuilt: FiscalCalendar = replay(list(cal.collect_events()))
    return rebuilt


def test_a_closed_month_refuses_its_days_only() -> None:
    cal = calendar(lambda c: c.close(period="2025-02", reason="month end", **CHECKER))
    with pytest.raises(PeriodClosed, match="2025-02"):
        cal.check_open(dt.date(2025, 2, 28), "an expenditure")
    cal.check_open(dt.date(2025, 3, 1))
    cal.check_open(dt.date(2025, 1, 31))
    assert cal.closed == {"2025-02": {
        "start": dt.date(2025, 2, 1), "end": dt.date(2025, 2, 28),
        "closed_by": CHECKER["actor"], "reason": "month end",
    }}  # fmt: skip


def test_a_closed_quarter_covers_its_months_and_reopen_is_its_own_event() -> None:
    cal = calendar(lambda c: c.close(period="2025-Q1", reason="quarter end", **CHECKER))
    with pytest.raises(PeriodClosed, match="2025-Q1"):
        cal.check_open(dt.date(2025, 1, 1))
    with pytest.raises(PeriodState, match="already closed"):
        cal.close(period="2025-Q1", reason="again", **CHECKER)
    with pytest.raises(PeriodState, match="lies in the closed period 2025-Q1"):
        cal.reopen(period="2025-02", reason="fix", **CHECKER)
    cal.reopen(period="2025-Q1", reason="late invoice", **CHECKER)
    [event] = list(cal.collect_events())
    assert type(event).__qualname__ == "FiscalCalendar.PeriodReopened"
    assert (event.period, event.reason, event.actor) == (
        "2025-Q1",
        "late invoice",
        "approver-daniyar",
    )
    cal.check_open(dt.date(2025, 2, 1))
    assert [h["action"] for h in cal.history] == ["closed", "reopened"]


def test_a_close_needs_a_reason() -> None:
    with pytest.raises(InvalidValue, match="reason"):
        calendar(lambda c: c.close(period="2025-02", reason=" ", **CHECKER))
