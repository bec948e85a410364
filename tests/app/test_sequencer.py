"""The sequencer: a round of commands answers and records exactly what a serial run does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context
from tests.app.sequencing import Outcome, normalised, one_round, outcome
from tests.conftest import make_app

GRANT = 2_000
MAY, JUNE = dt.date(2025, 5, 20), dt.date(2025, 6, 15)
KEYS = ["shared-key-0001", "shared-key-0002"]

# One command: (kind, grant index, amount, value date, shared key index or None,
# expected version or None).
command = st.tuples(
    st.sampled_from(["disburse", "disburse", "reduce", "spend", "close", "reopen"]),
    st.integers(0, 1),
    st.sampled_from([1, 300, 700, 1_500, 2_500]),
    st.sampled_from([MAY, JUNE]),
    st.one_of(st.none(), st.integers(0, len(KEYS) - 1)),
    st.one_of(st.none(), st.integers(1, 6)),
)


def world(app: LedgerApplication) -> list[UUID]:
    app.register_donor(Context("setup", "setup-donor-001"), code="fund", name="Fund")
    app.register_school(
        Context("setup", "setup-school-01"), code="hub", name="Hub", school_type="hub",
        region="aktobe", district="Khromtau",
    )  # fmt: skip
    grants = []
    for i in range(2):
        recorded = app.commit_grant(
            Context("setup", f"setup-grant-{i:03d}"), donor="fund", school="hub",
            programme=None, amount=GRANT, currency="KZT", value_date=dt.date(2025, 1, 10),
            reference=f"AGR-{i}",
        )  # fmt: skip
        grants.append(UUID(recorded.response["grant_id"]))
    return grants


def call(
    app: LedgerApplication, grants: list[UUID], n: int, cmd: tuple[Any, ...]
) -> Callable[[], Any]:
    kind, g, amount, day, key, version = cmd
    c = Context("alice", KEYS[key] if key is not None else f"cmd-key-{n:06d}", version)
    if kind == "disburse":
        return lambda: app.disburse(
            c, grant_id=grants[g], amount=amount, currency="KZT", value_date=day,
            payment_reference=f"PP-{n}",
        )  # fmt: skip
    if kind == "reduce":
        return lambda: app.reduce_grant(
            c, grant_id=grants[g], amount=amount, value_date=day, reason="budget cut"
        )
    if kind == "spend":
        return lambda: app.record_expenditure(
            c, school="hub", amount=amount, currency="KZT", category="supplies",
            value_date=day, reference=f"R-{n}",
        )  # fmt: skip
    change = app.close_period if kind == "close" else app.reopen_period
    return lambda: change(Context("approver", c.idempotency_key), period="2025-06", reason="books")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(commands=st.lists(command, min_size=1, max_size=14))
def test_one_round_answers_and_records_what_a_serial_run_does(
    commands: list[tuple[Any, ...]],
) -> None:
    serial, sequenced = make_app("memory://"), make_app("memory://")
    try:
        grants = world(serial)
        expected: list[Outcome] = [
            outcome(call(serial, grants, n, cmd)) for n, cmd in enumerate(commands)
        ]
        grants = world(sequenced)
        answers: dict[int, Outcome] = {}
        before = sequenced.committer.stats.transactions

        def record(n: int, f: Callable[[], Any]) -> Callable[[], None]:
            return lambda: answers.__setitem__(n, outcome(f))

        with one_round(sequenced) as add:
            for n, cmd in enumerate(commands):
                add(record(n, call(sequenced, grants, n, cmd)))
        got = [answers[n] for n in range(len(commands))]
        # Decided in one round (the holder's, then the commands'), save for a reused
        # key whose second use waits a round to replay the first.
        reused = sum(cmd[4] is not None for cmd in commands)
        assert sequenced.committer.stats.transactions - before <= 2 + reused
        assert normalised(sequenced, got) == normalised(serial, expected)
    finally:
        serial.close()
        sequenced.close()


def disburse(app: LedgerApplication, grant: UUID, amount: int, key: str) -> Callable[[], Any]:
    return lambda: app.disburse(
        Context("alice", key), grant_id=grant, amount=amount, currency="KZT", value_date=MAY,
        payment_reference=key,
    )  # fmt: skip


def into(answers: dict[str, Outcome], name: str, f: Callable[[], Any]) -> Callable[[], None]:
    return lambda: answers.__setitem__(name, outcome(f))


def claims_under(app: LedgerApplication, prefix: str) -> int:
    log, _ = normalised(app)
    return sum(1 for name, e in log if name.endswith("Claimed") and e["key"].startswith(prefix))


@pytest.mark.durable
def test_a_failed_commit_answers_nothing_of_its_batch_and_decides_it_again(
    store_url: str, app: LedgerApplication
) -> None:
    """Another process takes the grant's next version while this one's round is open.

    The round was decided on the old state (both fit), so its commit fails; nothing
    of it is answered, and on the stored state the second no longer fits.
    """
    grants = world(app)
    other = make_app(store_url)
    seen_by_commits: list[int] = []
    answers: dict[str, Outcome] = {}
    real_commit = app.committer.commit

    def commit(*args: Any, **kwargs: Any) -> list[list[int]]:
        seen_by_commits.append(len(answers))  # answers given before this commit
        return real_commit(*args, **kwargs)

    try:
        outcome(disburse(app, grants[0], 100, "warm-0001"))  # the grant is now cached
        app.committer.commit = commit  # type: ignore[method-assign]
        with one_round(app) as add:
            add(into(answers, "a", disburse(app, grants[0], 1_000, "round-key-a")))
            add(into(answers, "b", disburse(app, grants[0], 800, "round-key-b")))
            add(into(answers, "c", disburse(app, grants[1], 5, "round-key-c")))
            # The other process records first: 2,000 - 100 - 600 leaves 1,300.
            assert outcome(disburse(other, grants[0], 600, "other-0001"))[0] == "ok"
    finally:
        app.committer.commit = real_commit  # type: ignore[method-assign]
        other.close()
    assert answers["a"][0] == "ok"
    assert answers["b"] == ("refused", "InsufficientUndisbursed")
    assert answers["c"][0] == "ok"
    # The holder's commit, the failed one and the one that stuck: no answer before it.
    assert len(seen_by_commits) >= 3 and all(n == 0 for n in seen_by_commits)
    assert app.get_grant(grants[0]).disbursed == 100 + 600 + 1_000
    assert app.get_grant(grants[1]).disbursed == 5
    assert claims_under(app, "round-") == 2


def test_a_store_failure_answers_nothing_and_the_batch_is_decided_again(
    memory_app: LedgerApplication,
) -> None:
    app = memory_app
    grants = world(app)
    real_commit = app.committer.commit
    failures = [RuntimeError("the store went away")]

    def commit(*args: Any, **kwargs: Any) -> list[list[int]]:
        if failures:
            raise failures.pop()
        return real_commit(*args, **kwargs)

    answers: dict[str, Outcome] = {}
    app.committer.commit = commit  # type: ignore[method-assign]
    try:
        with one_round(app) as add:
            add(into(answers, "a", disburse(app, grants[0], 1_500, "fail-key-a")))
            add(into(answers, "b", disburse(app, grants[0], 800, "fail-key-b")))
    finally:
        app.committer.commit = real_commit  # type: ignore[method-assign]
    assert answers == {
        "a": ("ok", answers["a"][1]),
        "b": ("refused", "InsufficientUndisbursed"),
    }
    assert app.get_grant(grants[0]).disbursed == 1_500
    assert claims_under(app, "fail-key-") == 1
