"""The ledger application on every store: memory, SQLite and PostgreSQL.

Each test drives ``LedgerApplication`` command methods and checks what was (or was
not) recorded in the event log, the aggregates' state, and the answers given.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context, Recorded
from ledger.domain.account import account_id
from ledger.domain.errors import (
    AlreadyExists,
    AlreadyReversed,
    CurrencyMismatch,
    DomainError,
    InsufficientCash,
    InsufficientUndisbursed,
    InvalidAmount,
    InvalidValue,
    NotFound,
    NotReversible,
    VersionMismatch,
)
from ledger.domain.idempotency import IdempotencyKeyReused, claim_id
from ledger.domain.registry import registry_id
from tests.conftest import make_app

DAY = dt.date(2024, 9, 2)
FUND = "qazaqstan-halqyna"
AITAS = "aitas"
NIS = "nis"
PROGRAMME = "hub-schools"
HUB = "aktobe-khromtau-hub"
SMALL = "aktobe-small-01"
GRANT = 25_000_000_000

_keys = itertools.count()


def ctx(
    actor: str = "alice", key: str | None = None, expected_version: int | None = None
) -> Context:
    return Context(actor, key or f"test-key-{next(_keys):08d}", expected_version)


def stored_events(app: LedgerApplication, after: int = 0) -> list[Any]:
    """Every domain event in the log after position ``after``, in log order, with ids."""
    notifications = app.recorder.select_notifications(start=after + 1, limit=10**6)
    return [(n.id, app.mapper.to_domain_event(n)) for n in notifications]


def trial_balance(app: LedgerApplication) -> dict[tuple[str, str], int]:
    balances: Counter[tuple[str, str]] = Counter()
    for _, event in stored_events(app):
        for leg in getattr(event, "legs", ()):
            balances[leg.account, leg.currency] += leg.amount
    return dict(balances)


def assert_trial_balance_is_zero(app: LedgerApplication) -> dict[tuple[str, str], int]:
    balances = trial_balance(app)
    per_currency: Counter[str] = Counter()
    for (_, currency), amount in balances.items():
        per_currency[currency] += amount
    assert set(per_currency.values()) <= {0}, per_currency
    return balances


def refused(
    app: LedgerApplication, error: type[DomainError], command: Callable[[], Recorded]
) -> DomainError:
    """Run a command that must be refused with exactly ``error`` and record nothing."""
    head = app.log_head()
    with pytest.raises(DomainError) as info:
        command()
    assert type(info.value) is error, info.value
    assert app.log_head() == head
    return info.value


def setup_world(app: LedgerApplication) -> None:
    app.register_donor(ctx(), code=FUND, name="Qazaqstan halqyna")
    app.register_donor(ctx(), code=AITAS, name="AITAS holding")
    app.register_donor(ctx(), code=NIS, name="Nazarbayev Intellectual Schools")
    app.register_programme(ctx(), code=PROGRAMME, name="Hub schools 2022-2025")
    app.register_school(
        ctx(), code=HUB, name="Khromtau", school_type="hub", region="aktobe", district="Khromtau"
    )
    app.register_school(
        ctx(),
        code=SMALL,
        name="Small school 1",
        school_type="small",
        region="aktobe",
        district="Khromtau",
        hub=HUB,
    )


def commit(
    app: LedgerApplication, amount: int = GRANT, currency: str = "KZT", c: Context | None = None
) -> Recorded:
    return app.commit_grant(
        c or ctx(),
        donor=FUND,
        school=HUB,
        programme=PROGRAMME,
        amount=amount,
        currency=currency,
        value_date=DAY,
        reference="AGR-2024-001",
    )


def disburse(
    app: LedgerApplication,
    grant: UUID,
    amount: int,
    c: Context | None = None,
    currency: str = "KZT",
) -> Recorded:
    return app.disburse(
        c or ctx(),
        grant_id=grant,
        amount=amount,
        currency=currency,
        value_date=DAY,
        payment_reference="PP-0001",
    )


def spend(
    app: LedgerApplication, amount: int, c: Context | None = None, currency: str = "KZT"
) -> Recorded:
    return app.record_expenditure(
        c or ctx(),
        school=HUB,
        amount=amount,
        currency=currency,
        category="subject-classrooms",
        value_date=DAY,
        reference="INV-17",
        description="chemistry lab",
    )


def reverse(app: LedgerApplication, entry: str | UUID, c: Context | None = None) -> Recorded:
    return app.reverse_entry(
        c or ctx(), entry_id=UUID(str(entry)), reason="entered twice", value_date=DAY
    )


def grant_of(recorded: Recorded) -> UUID:
    return UUID(recorded.response["grant_id"])


@pytest.fixture
def world(app: LedgerApplication) -> LedgerApplication:
    setup_world(app)
    return app


# == the whole flow ==================================================================


def test_full_flow_of_a_hub_school_grant(world: LedgerApplication) -> None:
    app = world
    positions: list[int] = []

    committed = commit(app)
    grant = grant_of(committed)
    positions.append(committed.position)
    assert app.get_grant(grant).summary() == {
        "committed": GRANT,
        "disbursed": 0,
        "undisbursed": GRANT,
    }

    tranche = disburse(app, grant, 10_000_000_000)
    positions.append(tranche.position)
    assert tranche.response["grant_id"] == str(grant)
    assert app.get_school_account(HUB).cash == {"KZT": 10_000_000_000}

    lab = spend(app, 3_000_000_000)
    extra = spend(app, 1_000_000_000)
    positions += [lab.position, extra.position]
    assert app.get_school_account(HUB).cash == {"KZT": 6_000_000_000}

    ops = app.cover_operating_cost(
        ctx(),
        donor=AITAS,
        amount=500_000_000,
        currency="KZT",
        category="programme-office",
        programme=PROGRAMME,
        value_date=DAY,
        reference="ACT-9",
        description="FURO office, Q3",
    )
    training = app.contribute_in_kind(
        ctx(),
        donor=NIS,
        kind="teacher-training",
        fair_value=120_000_000,
        currency="KZT",
        valuation_basis="course rate x teachers",
        quantities={"teachers_trained": 40, "hours": 72},
        school=HUB,
        programme=None,
        value_date=DAY,
    )
    methodology = app.contribute_in_kind(
        ctx(),
        donor=NIS,
        kind="methodology",
        fair_value=30_000_000,
        currency="KZT",
        valuation_basis="staff days",
        quantities={},
        school=None,
        programme=PROGRAMME,
        value_date=DAY,
    )
    positions += [ops.position, training.position, methodology.position]

    # Corrections: each is a new event that points at the original.
    undo_extra = reverse(app, extra.response["entry_id"])
    assert undo_extra.response["reverses"] == extra.response["entry_id"]
    assert app.get_school_account(HUB).cash == {"KZT": 7_000_000_000}
    undo_ops = reverse(app, ops.response["entry_id"])
    undo_training = reverse(app, training.response["entry_id"])
    reduction = app.reduce_grant(
        ctx(), grant_id=grant, amount=5_000_000_000, value_date=DAY, reason="scope cut"
    )
    assert reduction.response["amount"] == 5_000_000_000
    undo_reduction = reverse(app, reduction.response["entry_id"])
    cancel = app.reduce_grant(ctx(), grant_id=grant, amount=None, value_date=DAY, reason="closed")
    assert cancel.response["amount"] == GRANT - 10_000_000_000
    positions += [p.position for p in (undo_extra, undo_ops, undo_training, reduction)]
    positions += [undo_reduction.position, cancel.position]

    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    assert app.get_grant(grant).summary() == {
        "committed": 10_000_000_000,
        "disbursed": 10_000_000_000,
        "undisbursed": 0,
    }

    balances = assert_trial_balance_is_zero(app)
    assert balances[f"schools:{HUB}:cash", "KZT"] == 7_000_000_000
    assert balances[f"schools:{HUB}:spent:subject-classrooms", "KZT"] == 3_000_000_000
    assert balances[f"donors:{FUND}:disbursed", "KZT"] == -10_000_000_000
    assert balances[f"commitments:receivable:{HUB}", "KZT"] == 0
    assert balances[f"commitments:pledged:{FUND}", "KZT"] == 0
    assert balances["operations:programme-office", "KZT"] == 0
    assert balances[f"schools:{HUB}:inkind:teacher-training", "KZT"] == 0
    assert balances[f"programmes:{PROGRAMME}:inkind:methodology", "KZT"] == 30_000_000
    assert balances[f"donors:{NIS}:inkind", "KZT"] == -30_000_000

    # A reversal is a fact of its own, never an edit: the originals are still there.
    kinds = Counter(type(e).__name__ for _, e in stored_events(app))
    assert kinds["ExpenditureRecorded"] == 2
    assert kinds["EntryReversed"] == 4
    assert kinds["Reduced"] == 2
    assert kinds["Claimed"] == 6 + 13  # one idempotency claim per recorded command


def test_reversing_a_disbursement_and_then_the_commitment(world: LedgerApplication) -> None:
    app = world
    committed = commit(app, 1_000)
    grant = grant_of(committed)
    tranche = disburse(app, grant, 600)
    refused(app, NotReversible, lambda: reverse(app, committed.response["entry_id"]))
    lab = spend(app, 500)
    # The school spent the cash: taking the disbursement back would overdraw it.
    refused(app, InsufficientCash, lambda: reverse(app, tranche.response["entry_id"]))
    assert app.get_grant(grant).disbursed == 600
    assert app.get_school_account(HUB).cash == {"KZT": 100}
    reverse(app, lab.response["entry_id"])
    undo = reverse(app, tranche.response["entry_id"])
    assert app.get_school_account(HUB).cash == {"KZT": 0}
    assert app.get_grant(grant).summary()["undisbursed"] == 1_000
    refused(app, AlreadyReversed, lambda: reverse(app, tranche.response["entry_id"]))
    refused(app, NotReversible, lambda: reverse(app, undo.response["entry_id"]))
    reverse(app, committed.response["entry_id"])
    assert app.get_grant(grant).summary() == {"committed": 0, "disbursed": 0, "undisbursed": 0}
    refused(app, InsufficientUndisbursed, lambda: disburse(app, grant, 1))
    balances = assert_trial_balance_is_zero(app)
    assert {k: v for k, v in balances.items() if v} == {}


def test_events_carry_actor_and_idempotency_key(world: LedgerApplication) -> None:
    app = world
    head = app.log_head()
    c = Context("officer-dana", "dana-request-0001")
    grant = grant_of(commit(app, 1_000))
    recorded = disburse(app, grant, 100, c)
    events = [e for pos, e in stored_events(app, head) if pos > head]
    mine = [e for e in events if getattr(e, "idempotency_key", None) == c.idempotency_key]
    assert {type(e).__name__ for e in mine} == {"Disbursed", "FundsReceived", "Registered"}
    assert {e.actor for e in mine} == {"officer-dana"}
    assert mine[0].entry_id == recorded.response["entry_id"]


# == idempotency =====================================================================


def test_an_idempotent_retry_replays_the_answer_and_records_nothing(
    world: LedgerApplication,
) -> None:
    app = world
    c = ctx()
    first = commit(app, 1_000, c=c)
    assert not first.replayed
    head = app.log_head()
    assert first.position == head
    again = commit(app, 1_000, c=c)
    assert again.replayed
    assert (again.response, again.position) == (first.response, first.position)
    assert app.log_head() == head

    grant = grant_of(first)
    d = ctx()
    paid = disburse(app, grant, 400, d)
    head = app.log_head()
    version = app.get_grant(grant).version
    for _ in range(3):
        retry = disburse(app, grant, 400, d)
        assert retry.replayed
        assert (retry.response, retry.position) == (paid.response, paid.position)
    assert app.log_head() == head
    assert app.get_grant(grant).version == version
    assert app.get_grant(grant).disbursed == 400
    assert app.get_school_account(HUB).cash == {"KZT": 400}

    r = ctx()
    undo = reverse(app, paid.response["entry_id"], r)
    head = app.log_head()
    retry = reverse(app, paid.response["entry_id"], r)
    assert (retry.replayed, retry.response, retry.position) == (True, undo.response, undo.position)
    assert app.log_head() == head


def test_a_retry_after_the_state_moved_on_still_replays(world: LedgerApplication) -> None:
    app = world
    grant = grant_of(commit(app, 1_000))
    version = app.get_grant(grant).version
    c = ctx(expected_version=version)
    paid = disburse(app, grant, 1_000, c)
    # Now the grant is at a later version and fully disbursed, yet the retry of the
    # same request is answered from its claim, not re-decided (no 409/412 on retry).
    retry = disburse(app, grant, 1_000, c)
    assert retry.replayed
    assert retry.response == paid.response
    assert app.get_grant(grant).disbursed == 1_000


@pytest.mark.durable
def test_a_retry_on_a_restarted_application_replays(
    store_url: str, world: LedgerApplication
) -> None:
    c = ctx()
    first = commit(world, 1_000, c=c)
    head = world.log_head()
    world.close()
    restarted = make_app(store_url)
    try:
        again = commit(restarted, 1_000, c=c)
        assert again.replayed
        assert (again.response, again.position) == (first.response, first.position)
        assert restarted.log_head() == head
    finally:
        restarted.close()


def test_the_same_key_with_different_arguments_is_refused(world: LedgerApplication) -> None:
    app = world
    c = ctx()
    grant = grant_of(commit(app, 1_000, c=c))
    refused(app, IdempotencyKeyReused, lambda: commit(app, 2_000, c=c))
    refused(app, IdempotencyKeyReused, lambda: commit(app, 1_000, currency="USD", c=c))
    # ...and with another command entirely.
    refused(app, IdempotencyKeyReused, lambda: disburse(app, grant, 1_000, c))
    d = ctx()
    disburse(app, grant, 100, d)
    refused(app, IdempotencyKeyReused, lambda: disburse(app, grant, 101, d))
    assert app.get_grant(grant).disbursed == 100


def test_the_same_key_from_another_actor_is_independent(world: LedgerApplication) -> None:
    app = world
    grant = grant_of(commit(app, 1_000))
    key = "shared-key-0001"
    alice = disburse(app, grant, 100, Context("alice", key))
    bob = disburse(app, grant, 100, Context("bob", key))
    assert not bob.replayed
    assert bob.response["entry_id"] != alice.response["entry_id"]
    assert bob.position > alice.position
    assert app.get_grant(grant).disbursed == 200
    # Bob's key is now claimed too, for his own request only.
    assert disburse(app, grant, 100, Context("bob", key)).response == bob.response
    refused(app, IdempotencyKeyReused, lambda: disburse(app, grant, 50, Context("bob", key)))
    claims = {e.originator_id for _, e in stored_events(app) if type(e).__name__ == "Claimed"}
    assert {claim_id("alice", key), claim_id("bob", key)} <= claims


def test_a_malformed_idempotency_key_is_refused(world: LedgerApplication) -> None:
    def register(key: str) -> Callable[[], Recorded]:
        return lambda: world.register_donor(Context("alice", key), code="x1", name="X")

    for key in ("", "short", "has a space", "tab\there-1", "k" * 129, "ключ-идемпотентности"):
        refused(world, InvalidValue, register(key))
    assert world.register_donor(Context("alice", "k" * 128), code="x1", name="X").position > 0


def test_a_refused_command_does_not_use_up_its_key(world: LedgerApplication) -> None:
    app = world
    grant = grant_of(commit(app, 1_000))
    c = ctx()
    refused(app, InsufficientCash, lambda: spend(app, 100, c))
    disburse(app, grant, 100)
    # The same request, retried once the cash is there, is decided afresh.
    done = spend(app, 100, c)
    assert not done.replayed
    assert app.get_school_account(HUB).cash == {"KZT": 0}


# == optimistic concurrency (If-Match) ===============================================


def test_expected_version_mismatch_is_refused_and_records_nothing(
    world: LedgerApplication,
) -> None:
    app = world
    grant = grant_of(commit(app, 1_000))
    v = app.get_grant(grant).version
    assert v == 1

    def disburse_expecting(version: int) -> Callable[[], Recorded]:
        return lambda: disburse(app, grant, 10, ctx(expected_version=version))

    for stale in (0, v + 1, 99):
        refused(app, VersionMismatch, disburse_expecting(stale))
    refused(
        app,
        VersionMismatch,
        lambda: app.reduce_grant(
            ctx(expected_version=v + 1), grant_id=grant, amount=1, value_date=DAY, reason="r"
        ),
    )
    paid = disburse(app, grant, 10, ctx(expected_version=v))
    assert app.get_grant(grant).version == v + 1
    # The officer who read version 1 and now disburses again loses, clearly.
    refused(app, VersionMismatch, lambda: disburse(app, grant, 10, ctx(expected_version=v)))
    refused(
        app,
        VersionMismatch,
        lambda: reverse(app, paid.response["entry_id"], ctx(expected_version=v)),
    )
    assert app.get_grant(grant).disbursed == 10

    account = app.get_school_account(HUB)
    refused(app, VersionMismatch, lambda: spend(app, 1, ctx(expected_version=account.version - 1)))
    spend(app, 1, ctx(expected_version=account.version))

    donor_version = app.get_donor(AITAS).version
    refused(
        app,
        VersionMismatch,
        lambda: app.cover_operating_cost(
            ctx(expected_version=donor_version + 1),
            donor=AITAS,
            amount=1,
            currency="KZT",
            category="office",
            programme=None,
            value_date=DAY,
            reference="R",
        ),
    )


# == not found, already exists =======================================================


def test_unknown_references_are_not_found(world: LedgerApplication) -> None:
    app = world
    grant = grant_of(commit(app, 1_000))
    nobody = uuid4()

    def commit_to(**kw: Any) -> Callable[[], Recorded]:
        args: dict[str, Any] = {
            "donor": FUND,
            "school": HUB,
            "programme": None,
            "amount": 1,
            "currency": "KZT",
            "value_date": DAY,
            "reference": "R",
        }
        args.update(kw)
        return lambda: app.commit_grant(ctx(), **args)

    refused(app, NotFound, commit_to(donor="no-such-donor"))
    refused(app, NotFound, commit_to(school="no-such-school"))
    refused(app, NotFound, commit_to(programme="no-such-programme"))
    refused(app, NotFound, commit_to(donor=HUB))  # a school's code is not a donor's
    refused(app, NotFound, lambda: disburse(app, nobody, 1))
    refused(app, NotFound, lambda: disburse(app, registry_id("donor", FUND), 1))
    refused(
        app,
        NotFound,
        lambda: app.reduce_grant(ctx(), grant_id=nobody, amount=None, value_date=DAY, reason="r"),
    )
    refused(
        app,
        NotFound,
        lambda: app.record_expenditure(
            ctx(),
            school="no-such-school",
            amount=1,
            currency="KZT",
            category="equipment",
            value_date=DAY,
            reference="R",
        ),
    )

    def ops(**kw: Any) -> Callable[[], Recorded]:
        args: dict[str, Any] = {
            "donor": AITAS,
            "amount": 1,
            "currency": "KZT",
            "category": "office",
            "programme": None,
            "value_date": DAY,
            "reference": "R",
        }
        args.update(kw)
        return lambda: app.cover_operating_cost(ctx(), **args)

    refused(app, NotFound, ops(donor="no-such-donor"))
    refused(app, NotFound, ops(programme="no-such-programme"))

    def gift(**kw: Any) -> Callable[[], Recorded]:
        args: dict[str, Any] = {
            "donor": NIS,
            "kind": "training",
            "fair_value": 1,
            "currency": "KZT",
            "valuation_basis": "b",
            "quantities": {},
            "school": HUB,
            "programme": None,
            "value_date": DAY,
        }
        args.update(kw)
        return lambda: app.contribute_in_kind(ctx(), **args)

    refused(app, NotFound, gift(donor="no-such-donor"))
    refused(app, NotFound, gift(school="no-such-school"))
    refused(app, NotFound, gift(school=None, programme="no-such-programme"))

    refused(app, NotFound, lambda: reverse(app, nobody))
    refused(app, NotFound, lambda: reverse(app, grant))  # a grant id is not an entry id
    refused(
        app,
        NotFound,
        lambda: app.register_school(
            ctx(),
            code="small-02",
            name="S",
            school_type="small",
            region="aktobe",
            district="D",
            hub="no-such-hub",
        ),
    )

    with pytest.raises(NotFound):
        app.get_grant(nobody)
    with pytest.raises(NotFound):
        app.get_grant(registry_id("school", HUB))
    with pytest.raises(NotFound):
        app.get_donor("no-such-donor")
    with pytest.raises(NotFound):
        app.get_school("no-such-school")
    with pytest.raises(NotFound):
        app.get_programme("no-such-programme")
    with pytest.raises(NotFound):
        app.get_school_account("no-such-school")


def test_registering_a_code_twice_is_refused(world: LedgerApplication) -> None:
    app = world
    refused(app, AlreadyExists, lambda: app.register_donor(ctx(), code=FUND, name="Other"))
    refused(app, AlreadyExists, lambda: app.register_programme(ctx(), code=PROGRAMME, name="P"))
    refused(
        app,
        AlreadyExists,
        lambda: app.register_school(
            ctx(), code=HUB, name="Again", school_type="small", region="abai", district="D"
        ),
    )
    assert app.get_donor(FUND).name == "Qazaqstan halqyna"
    assert app.get_school(HUB).school_type == "hub"
    # Codes are unique per kind: a donor may share a school's code.
    app.register_donor(ctx(), code=HUB, name="Khromtau alumni fund")
    assert app.get_donor(HUB).name == "Khromtau alumni fund"


def test_registration_validation_records_nothing(world: LedgerApplication) -> None:
    app = world

    def school(**kw: Any) -> Callable[[], Recorded]:
        args: dict[str, Any] = {
            "code": "new-school",
            "name": "N",
            "school_type": "small",
            "region": "aktobe",
            "district": "D",
        }
        args.update(kw)
        return lambda: app.register_school(ctx(), **args)

    refused(app, InvalidValue, school(region="moscow"))
    refused(app, InvalidValue, school(school_type="college"))
    refused(app, InvalidValue, school(code="New School"))
    refused(app, InvalidValue, school(hub=SMALL))  # a small school is nobody's hub
    refused(app, InvalidValue, school(school_type="hub", hub=HUB))
    refused(app, InvalidValue, lambda: app.register_donor(ctx(), code="Bad Code", name="B"))
    school(hub=HUB)()
    assert app.get_school("new-school").hub_code == HUB
    assert app.get_school_account("new-school").cash == {}


# == atomicity and the domain rules through the application ==========================


def test_a_disbursement_saves_grant_and_school_account_together(world: LedgerApplication) -> None:
    app = world
    grant = grant_of(commit(app, 1_000))
    grant_version = app.get_grant(grant).version
    account_version = app.get_school_account(HUB).version
    head = app.log_head()

    c = ctx()
    paid = disburse(app, grant, 250, c)

    assert app.get_grant(grant).version == grant_version + 1
    assert app.get_school_account(HUB).version == account_version + 1
    written = stored_events(app, head)
    ids = [pos for pos, _ in written]
    # One transaction: the grant's event, the account's, the entry locator, the claim,
    # at consecutive log positions ending at the reported position.
    assert ids == list(range(head + 1, head + 5))
    assert paid.position == ids[-1] == app.log_head()
    owners = [e.originator_id for _, e in written]
    entry = UUID(paid.response["entry_id"])
    assert owners == [grant, account_id(HUB), entry, claim_id(c.actor, c.idempotency_key)]
    assert [type(e).__name__ for _, e in written] == [
        "Disbursed",
        "FundsReceived",
        "Registered",
        "Claimed",
    ]
    assert written[0][1].entry_id == written[1][1].entry_id == paid.response["entry_id"]


def test_domain_refusals_record_nothing(world: LedgerApplication) -> None:
    app = world
    grant = grant_of(commit(app, 1_000))
    refused(app, InsufficientUndisbursed, lambda: disburse(app, grant, 1_001))
    refused(app, CurrencyMismatch, lambda: disburse(app, grant, 1, currency="USD"))
    refused(app, InvalidAmount, lambda: disburse(app, grant, 0))
    refused(app, InvalidAmount, lambda: disburse(app, grant, True))
    refused(app, InvalidAmount, lambda: disburse(app, grant, 10**15 + 1))
    disburse(app, grant, 1_000)
    refused(app, InsufficientUndisbursed, lambda: disburse(app, grant, 1))
    refused(
        app,
        InsufficientUndisbursed,
        lambda: app.reduce_grant(ctx(), grant_id=grant, amount=None, value_date=DAY, reason="r"),
    )
    refused(app, InsufficientCash, lambda: spend(app, 1_001))
    refused(app, InsufficientCash, lambda: spend(app, 1, currency="USD"))
    refused(
        app,
        InvalidValue,
        lambda: app.contribute_in_kind(
            ctx(),
            donor=NIS,
            kind="training",
            fair_value=1,
            currency="KZT",
            valuation_basis="b",
            quantities={},
            school=HUB,
            programme=PROGRAMME,
            value_date=DAY,
        ),
    )
    refused(
        app,
        InvalidValue,
        lambda: app.commit_grant(
            ctx(),
            donor=FUND,
            school=HUB,
            programme=None,
            amount=1,
            currency="KZT",
            value_date=dt.date(1999, 12, 31),
            reference="R",
        ),
    )
    assert app.get_grant(grant).summary() == {
        "committed": 1_000,
        "disbursed": 1_000,
        "undisbursed": 0,
    }
    assert app.get_school_account(HUB).cash == {"KZT": 1_000}


# == a client retry racing its own first attempt =====================================

DUPLICATES: dict[str, Callable[[LedgerApplication, Context], Recorded]] = {
    "register-donor": lambda app, c: app.register_donor(c, code="new-donor", name="New"),
    "disburse-the-rest": lambda app, c: disburse(app, _only_grant(app), 1_000, c),
    "reverse": lambda app, c: reverse(app, _first_disbursement(app), c),
}


def _only_grant(app: LedgerApplication) -> UUID:
    (grant,) = {e.originator_id for _, e in stored_events(app) if type(e).__name__ == "Committed"}
    return UUID(str(grant))


def _first_disbursement(app: LedgerApplication) -> str:
    return str(next(e.entry_id for _, e in stored_events(app) if type(e).__name__ == "Disbursed"))


@pytest.mark.parametrize("command", list(DUPLICATES))
def test_a_concurrent_duplicate_request_gets_the_original_answer(
    world: LedgerApplication, command: str
) -> None:
    """The duplicate decides after the original committed, on the state it produced.

    It must not answer with the refusal that state implies (AlreadyExists,
    InsufficientUndisbursed, AlreadyReversed) but with the original's answer.
    """
    app = world
    grant = grant_of(commit(app, 2_000))
    disburse(app, grant, 1_000)
    c = ctx()
    # Force the interleaving of a client retry racing its own first attempt: the
    # duplicate is submitted after the original's round committed and before the
    # original has its answer. The seam is a commit listener: the sequencer calls it
    # after the commit and before it answers the round.
    head = app.log_head()
    results: list[Recorded | DomainError] = []
    committed = threading.Event()

    def request() -> None:
        try:
            results.append(DUPLICATES[command](app, c))
        except DomainError as e:
            results.append(e)

    def hold_the_answer(report: Any) -> None:
        if committed.is_set() or not any("Claimed" in t for t in report.event_types):
            return
        committed.set()
        deadline = time.monotonic() + 20
        while app.sequencer._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.001)

    app.committer.listeners.append(hold_the_answer)
    retry = threading.Thread(target=lambda: (committed.wait(timeout=20), request()))
    retry.start()
    original = threading.Thread(target=request)
    original.start()
    for t in (original, retry):
        t.join(timeout=60)
    assert len(results) == 2
    # Recorded once, whatever the answers were.
    written = stored_events(app, head)
    assert sum(type(e).__name__ == "Claimed" for _, e in written) == 1
    # Both requests must get the original's answer.
    assert all(isinstance(r, Recorded) for r in results), results
    answers = [r for r in results if isinstance(r, Recorded)]
    assert sorted(r.replayed for r in answers) == [False, True]
    assert answers[0].response == answers[1].response
    assert answers[0].position == answers[1].position


# == two processes on one store ======================================================


@pytest.mark.durable
def test_a_reversal_in_another_process_decides_on_stored_state(
    store_url: str, world: LedgerApplication
) -> None:
    first = world  # recorded the registrations and the grant: has them cached
    grant = grant_of(commit(first, 1_000))
    second = make_app(store_url)
    try:
        paid = disburse(second, grant, 100)
        assert second.get_school_account(HUB).cash == {"KZT": 100}
        # (A read through `first` would refresh its cache and hide the problem.)
        undo = reverse(first, paid.response["entry_id"])
        assert undo.response["reverses"] == paid.response["entry_id"]
        assert second.get_school_account(HUB).cash == {"KZT": 0}
        assert second.get_grant(grant).disbursed == 0
    finally:
        second.close()
