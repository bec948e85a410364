"""Racing writers on PostgreSQL: the rules hold and every loser hears about it."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from uuid import UUID

import pytest

from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import ConcurrencyConflict, Context
from ledger.domain.errors import DomainError, InsufficientUndisbursed
from tests.conftest import make_app

COMMITMENT = 25_000_000_000
TRANCHE = 2_000_000_000  # 16 x 2e9 = 32e9 > 25e9: at most 12 can succeed


@pytest.fixture
def pg_app(pg_schema_url: str) -> Iterator[LedgerApplication]:
    app = make_app(pg_schema_url)
    yield app
    app.close()


def _grant(app: LedgerApplication) -> UUID:
    ctx = Context("setup", "setup-donor-0001")
    app.register_donor(ctx, code="qazaqstan-halqyna", name="Qazaqstan halqyna")
    app.register_school(
        Context("setup", "setup-school-0001"),
        code="aktobe-khromtau-hub",
        name="Khromtau",
        school_type="hub",
        region="aktobe",
        district="Khromtau",
    )
    recorded = app.commit_grant(
        Context("setup", "setup-grant-0001"),
        donor="qazaqstan-halqyna",
        school="aktobe-khromtau-hub",
        programme=None,
        amount=COMMITMENT,
        currency="KZT",
        value_date=dt.date(2024, 1, 1),
        reference="AGR-1",
    )
    return UUID(recorded.response["grant_id"])


def _race(app: LedgerApplication, grant: UUID, threads: int) -> tuple[list[int], list[DomainError]]:
    barrier = threading.Barrier(threads)
    won: list[int] = []
    lost: list[DomainError] = []
    lock = threading.Lock()

    def racer(n: int) -> None:
        barrier.wait()
        try:
            app.disburse(
                Context(f"officer-{n}", f"race-key-{n:04d}"),
                grant_id=grant,
                amount=TRANCHE,
                currency="KZT",
                value_date=dt.date(2024, 2, 1),
                payment_reference=f"PP-{n}",
            )
        except DomainError as e:
            with lock:
                lost.append(e)
        else:
            with lock:
                won.append(n)

    workers = [threading.Thread(target=racer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    return won, lost


@pytest.mark.postgres
def test_sixteen_threads_cannot_overdraw_one_grant(pg_app: LedgerApplication) -> None:
    grant = _grant(pg_app)
    won, lost = _race(pg_app, grant, 16)
    assert len(won) + len(lost) == 16
    assert len(won) == COMMITMENT // TRANCHE  # every tranche that fits is recorded
    # Every loser was told why: the commitment ran out (or, rarely, it lost every retry).
    assert all(isinstance(e, InsufficientUndisbursed | ConcurrencyConflict) for e in lost)
    state = pg_app.get_grant(grant)
    assert state.disbursed == len(won) * TRANCHE <= COMMITMENT
    assert pg_app.get_school_account("aktobe-khromtau-hub").cash_on_hand("KZT") == state.disbursed


@pytest.mark.postgres
def test_two_applications_share_one_store_safely(pg_schema_url: str) -> None:
    """Two API processes' worth of applications, each with its own group committer."""
    first, second = make_app(pg_schema_url), make_app(pg_schema_url)
    try:
        grant = _grant(first)
        results: list[bool] = []

        def spend(app: LedgerApplication, n: int) -> None:
            try:
                app.disburse(
                    Context("officer", f"two-apps-{n:04d}"),
                    grant_id=grant,
                    amount=TRANCHE,
                    currency="KZT",
                    value_date=dt.date(2024, 2, 1),
                    payment_reference=f"PP-{n}",
                )
                results.append(True)
            except DomainError:
                results.append(False)

        threads = [
            threading.Thread(target=spend, args=(first if n % 2 else second, n)) for n in range(16)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert results.count(True) == COMMITMENT // TRANCHE
        assert second.get_grant(grant).disbursed == results.count(True) * TRANCHE
    finally:
        first.close()
        second.close()


@pytest.mark.postgres
def test_reads_see_writes_of_another_process(pg_schema_url: str) -> None:
    """Each process caches aggregates; a read must still show the stored state."""
    first, second = make_app(pg_schema_url), make_app(pg_schema_url)
    try:
        grant = _grant(first)
        assert second.get_grant(grant).disbursed == 0  # now cached in `second`
        first.disburse(
            Context("officer", "other-process-0001"),
            grant_id=grant,
            amount=TRANCHE,
            currency="KZT",
            value_date=dt.date(2024, 2, 1),
            payment_reference="PP-1",
        )
        seen = second.get_grant(grant)
        assert (seen.disbursed, seen.version) == (TRANCHE, 2)
        # ...and `second` decides on fresh state after its cached copy is refused.
        second.disburse(
            Context("officer", "other-process-0002"),
            grant_id=grant,
            amount=COMMITMENT - TRANCHE,
            currency="KZT",
            value_date=dt.date(2024, 2, 2),
            payment_reference="PP-2",
        )
        assert first.get_grant(grant).undisbursed == 0
        with pytest.raises(InsufficientUndisbursed):
            first.disburse(
                Context("officer", "other-process-0003"),
                grant_id=grant,
                amount=1,
                currency="KZT",
                value_date=dt.date(2024, 2, 3),
                payment_reference="PP-3",
            )
    finally:
        first.close()
        second.close()


@pytest.mark.postgres
def test_a_refusal_on_stale_cached_state_is_checked_on_fresh_state(pg_schema_url: str) -> None:
    first, second = make_app(pg_schema_url), make_app(pg_schema_url)
    try:
        grant = _grant(first)
        paid = first.disburse(
            Context("officer", "stale-0001"),
            grant_id=grant,
            amount=COMMITMENT,
            currency="KZT",
            value_date=dt.date(2024, 2, 1),
            payment_reference="PP-1",
        )
        assert second.get_grant(grant).undisbursed == 0  # cached as fully disbursed
        first.reverse_entry(
            Context("officer", "stale-0002"),
            entry_id=UUID(paid.response["entry_id"]),
            reason="paid to the wrong account",
        )
        # `second` still caches "nothing left"; the store says everything is left again.
        again = second.disburse(
            Context("officer", "stale-0003"),
            grant_id=grant,
            amount=COMMITMENT,
            currency="KZT",
            value_date=dt.date(2024, 2, 5),
            payment_reference="PP-2",
        )
        assert not again.replayed
        assert first.get_grant(grant).disbursed == COMMITMENT
    finally:
        first.close()
        second.close()
