"""The aggregates on their own: given past events, when a command, then new events or an error.

No application and no store: each test rebuilds an aggregate from the events of its
history (as a repository would), runs one command, and inspects the pending events,
their balanced legs, and the aggregate's state. Errors are checked by exact class.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate

from ledger.domain.account import SchoolAccount, account_id
from ledger.domain.donor import Donor
from ledger.domain.entries import EntryLocator, EntryOwner, EntryState, new_locator
from ledger.domain.errors import (
    AlreadyReversed,
    CurrencyMismatch,
    DomainError,
    InsufficientCash,
    InsufficientUndisbursed,
    InvalidAmount,
    InvalidValue,
    NotFound,
    NotReversible,
    ReversalBeforeEntry,
    UnbalancedPosting,
    UnknownCurrency,
)
from ledger.domain.grant import Grant
from ledger.domain.idempotency import IdempotencyClaim, IdempotencyKeyReused, claim_id
from ledger.domain.money import MAX_ENTRY_AMOUNT, Leg, check_balanced
from ledger.domain.registry import Programme, School, registry_id

A = TypeVar("A", bound=Aggregate)

META: dict[str, str] = {"actor": "officer-aigerim", "idempotency_key": "key-0000-0001"}
DAY = dt.date(2024, 9, 2)
DONOR = "qazaqstan-halqyna"
OPS_DONOR = "aitas"
NIS = "nis"
SCHOOL = "aktobe-khromtau-hub"
PROGRAMME = "hub-schools-2022"
GRANT = 25_000_000_000  # 250,000,000 KZT in tiyn

BAD_AMOUNTS = [0, -1, -GRANT, True, False, MAX_ENTRY_AMOUNT + 1, 1.0, 100.5, "100", None]
BAD_AMOUNT_IDS = [
    "zero",
    "minus-one",
    "negative",
    "bool-true",
    "bool-false",
    "too-big",
    "float-1.0",
    "float",
    "str",
    "none",
]
BAD_CURRENCIES = ["XYZ", "kzt", "KZ", "KZTT", "", "XAU"]
BAD_DATES: list[Any] = [
    dt.date(1999, 12, 31),
    dt.date(2101, 1, 1),
    dt.date(1, 1, 1),
    dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    "2024-01-01",
    None,
]
EDGE_DATES = [dt.date(2000, 1, 1), dt.date(2100, 12, 31)]


# -- given / then helpers ------------------------------------------------------------


def new_id() -> str:
    return str(uuid4())


def replay(events: Sequence[Any]) -> Any:
    """Rebuild an aggregate from its events, exactly as a repository does."""
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    assert aggregate is not None
    assert aggregate.pending_events == []
    return aggregate


def given_history(create: Callable[[], A], *steps: Callable[[A], object]) -> tuple[A, list[Any]]:
    """The events of ``create`` followed by ``steps``, and the aggregate rebuilt from them."""
    aggregate = create()
    for step in steps:
        step(aggregate)
    history = list(aggregate.collect_events())
    rebuilt: A = replay(history)
    assert rebuilt.version == aggregate.version == len(history)
    return rebuilt, history


def given(create: Callable[[], A], *steps: Callable[[A], object]) -> A:
    """An aggregate whose history is ``create`` followed by ``steps``, rebuilt from events."""
    return given_history(create, *steps)[0]


def then(aggregate: Aggregate) -> list[Any]:
    """The events the command under test recorded; all of them must balance."""
    events = list(aggregate.collect_events())
    for event in events:
        if hasattr(event, "legs"):
            assert_balanced(event.legs)
    return events


def names(events: Sequence[Any]) -> list[str]:
    return [type(e).__qualname__ for e in events]


def assert_balanced(legs: Sequence[Leg]) -> None:
    assert legs, "a financial event posts at least two legs"
    totals: Counter[str] = Counter()
    for leg in legs:
        assert isinstance(leg, Leg)
        assert type(leg.amount) is int
        assert leg.amount != 0
        totals[leg.currency] += leg.amount
    assert all(v == 0 for v in totals.values()), totals


def as_tuples(legs: Sequence[Leg]) -> list[tuple[str, int, str]]:
    return [(leg.account, leg.amount, leg.currency) for leg in legs]


def nothing_pending(*aggregates: Aggregate) -> None:
    for aggregate in aggregates:
        assert aggregate.pending_events == []


# -- aggregate factories and commands ------------------------------------------------


def committed(
    amount: int = GRANT, currency: str = "KZT", entry_id: str | None = None
) -> Callable[[], Grant]:
    def create() -> Grant:
        return Grant.commit(
            entry_id=entry_id or new_id(),
            donor=DONOR,
            school=SCHOOL,
            programme=PROGRAMME,
            amount=amount,
            currency=currency,
            value_date=DAY,
            reference="AGR-2024-001",
            **META,
        )

    return create


def disbursed(
    amount: int, entry_id: str | None = None, currency: str = "KZT"
) -> Callable[..., Any]:
    def step(grant: Grant) -> None:
        grant.disburse(
            entry_id=entry_id or new_id(),
            amount=amount,
            currency=currency,
            value_date=DAY,
            payment_reference="PP-001",
            **META,
        )

    return step


def reduced(amount: int | None, entry_id: str | None = None) -> Callable[..., Any]:
    def step(grant: Grant) -> None:
        grant.reduce(
            entry_id=entry_id or new_id(),
            amount=amount,
            value_date=DAY,
            reason="scope cut",
            **META,
        )

    return step


def reversed_(entry_id: str, reversal_id: str | None = None) -> Callable[..., Any]:
    def step(owner: EntryOwner) -> None:
        owner.reverse(
            entry_id=entry_id,
            reversal_entry_id=reversal_id or new_id(),
            value_date=DAY,
            reason="typing mistake",
            **META,
        )

    return step


def opened(school: str = SCHOOL) -> Callable[[], SchoolAccount]:
    return lambda: SchoolAccount.open(school=school, **META)


def received(amount: int, currency: str = "KZT") -> Callable[..., Any]:
    def step(account: SchoolAccount) -> None:
        account.receive(entry_id=new_id(), amount=amount, currency=currency, **META)

    return step


def spent(
    amount: int,
    entry_id: str | None = None,
    currency: str = "KZT",
    category: str = "equipment",
    **source: Any,
) -> Callable[..., Any]:
    def step(account: SchoolAccount) -> None:
        account.spend(
            entry_id=entry_id or new_id(),
            amount=amount,
            currency=currency,
            category=category,
            value_date=DAY,
            reference="INV-7",
            description="physics lab",
            **source,
            **META,
        )

    return step


def registered_donor(code: str = OPS_DONOR) -> Callable[[], Donor]:
    return lambda: Donor.register(code=code, name=code.upper(), **META)


def operating_cost(
    amount: int,
    entry_id: str | None = None,
    currency: str = "KZT",
    category: str = "staff",
    programme: str | None = PROGRAMME,
) -> Callable[..., Any]:
    def step(donor: Donor) -> None:
        donor.cover_operating_cost(
            entry_id=entry_id or new_id(),
            amount=amount,
            currency=currency,
            category=category,
            programme=programme,
            value_date=DAY,
            reference="ACT-3",
            description="FURO staff, Q3",
            **META,
        )

    return step


def in_kind(
    fair_value: int,
    entry_id: str | None = None,
    *,
    school: str | None = SCHOOL,
    programme: str | None = None,
    currency: str = "KZT",
    kind: str = "teacher-training",
    quantities: dict[str, Any] | None = None,
    valuation_basis: str = "NIS course rate x teachers trained",
    **source: Any,
) -> Callable[..., Any]:
    def step(donor: Donor) -> None:
        donor.contribute_in_kind(
            **source,
            entry_id=entry_id or new_id(),
            kind=kind,
            fair_value=fair_value,
            currency=currency,
            valuation_basis=valuation_basis,
            quantities={"teachers_trained": 40, "hours": 72} if quantities is None else quantities,
            school=school,
            programme=programme,
            value_date=DAY,
            **META,
        )

    return step


# == registry ========================================================================


class TestRegisterDonorAndProgramme:
    @pytest.mark.parametrize("cls", [Donor, Programme])
    def test_registers_with_a_code_derived_id(self, cls: type[Donor] | type[Programme]) -> None:
        agg = cls.register(code=DONOR, name="Qazaqstan halqyna", **META)
        events = then(agg)
        assert names(events) == [f"{cls.__name__}.Registered"]
        assert events[0].code == DONOR
        assert events[0].name == "Qazaqstan halqyna"
        assert events[0].actor == META["actor"]
        assert events[0].idempotency_key == META["idempotency_key"]
        assert not hasattr(events[0], "legs")
        kind = cls.__name__.lower()
        assert agg.id == registry_id(kind, DONOR)
        assert replay(events).code == DONOR

    def test_donor_and_programme_ids_differ_for_the_same_code(self) -> None:
        assert registry_id("donor", "x1") != registry_id("programme", "x1")
        assert registry_id("donor", "x1") != registry_id("school", "x1")

    @pytest.mark.parametrize("code", ["ab", "a" * 64, "0-1", "north-kazakhstan-007"])
    def test_accepts_valid_codes(self, code: str) -> None:
        assert Donor.register(code=code, name="n", **META).code == code

    @pytest.mark.parametrize(
        "code",
        ["", "a", "Aitas", "-aitas", "ai tas", "ai_tas", "ai.tas", "a" * 65, "айтас", 42, None],
    )
    @pytest.mark.parametrize("cls", [Donor, Programme])
    def test_refuses_invalid_codes(self, cls: type[Donor] | type[Programme], code: Any) -> None:
        with pytest.raises(InvalidValue, match="code"):
            cls.register(code=code, name="Name", **META)

    @pytest.mark.parametrize("name", ["", "   ", "x" * 201, None])
    @pytest.mark.parametrize("cls", [Donor, Programme])
    def test_refuses_invalid_names(self, cls: type[Donor] | type[Programme], name: Any) -> None:
        with pytest.raises(InvalidValue, match="name"):
            cls.register(code="aitas", name=name, **META)

    def test_accepts_a_name_of_200_characters(self) -> None:
        assert len(Programme.register(code="p1", name="x" * 200, **META).name) == 200


def register_school(**overrides: Any) -> School:
    fields: dict[str, Any] = {
        "code": SCHOOL,
        "name": "Khromtau hub school",
        "school_type": "hub",
        "region": "aktobe",
        "district": "Khromtau",
        "hub": None,
        **META,
    }
    fields.update(overrides)
    return School.register(**fields)


class TestRegisterSchool:
    def test_hub_school(self) -> None:
        school = register_school()
        events = then(school)
        assert names(events) == ["School.Registered"]
        assert events[0].hub_code is None
        rebuilt = replay(events)
        assert (rebuilt.school_type, rebuilt.region, rebuilt.district) == (
            "hub",
            "aktobe",
            "Khromtau",
        )
        assert school.id == registry_id("school", SCHOOL)

    def test_small_school_names_its_hub(self) -> None:
        hub = register_school()
        small = register_school(code="aktobe-small-12", school_type="small", hub=hub)
        assert then(small)[0].hub_code == SCHOOL
        assert small.hub_code == SCHOOL

    def test_small_school_without_a_hub(self) -> None:
        assert register_school(code="small-1", school_type="small").hub_code is None

    @pytest.mark.parametrize(
        "region", ["north-kazakhstan", "almaty-city", "mangystau", "astana", "abai"]
    )
    def test_regions_of_kazakhstan(self, region: str) -> None:
        assert register_school(region=region).region == region

    @pytest.mark.parametrize("region", ["Aktobe", "moscow", "", "north kazakhstan", None])
    def test_refuses_unknown_region(self, region: Any) -> None:
        with pytest.raises(InvalidValue, match="region"):
            register_school(region=region)

    @pytest.mark.parametrize("school_type", ["secondary", "Hub", "", None])
    def test_refuses_unknown_school_type(self, school_type: Any) -> None:
        with pytest.raises(InvalidValue, match="school_type"):
            register_school(school_type=school_type)

    def test_a_hub_school_does_not_name_a_hub(self) -> None:
        other_hub = register_school(code="kostanay-hub")
        with pytest.raises(InvalidValue, match="only a small school"):
            register_school(hub=other_hub)

    def test_the_named_hub_must_be_a_hub_school(self) -> None:
        small = register_school(code="small-1", school_type="small")
        with pytest.raises(InvalidValue, match="not a hub school"):
            register_school(code="small-2", school_type="small", hub=small)

    @pytest.mark.parametrize("code", ["A", "Khromtau", "x" * 65, "-x1"])
    def test_refuses_invalid_code(self, code: str) -> None:
        with pytest.raises(InvalidValue, match="code"):
            register_school(code=code)

    @pytest.mark.parametrize("district", ["", "  ", "d" * 101])
    def test_refuses_invalid_district(self, district: str) -> None:
        with pytest.raises(InvalidValue, match="district"):
            register_school(district=district)

    def test_school_account_opens_empty(self) -> None:
        account = SchoolAccount.open(school=SCHOOL, **META)
        events = then(account)
        assert names(events) == ["SchoolAccount.Opened"]
        assert account.id == account_id(SCHOOL)
        assert account.id != registry_id("school", SCHOOL)
        assert replay(events).cash == {}
        assert account.cash_on_hand("KZT") == 0


# == grants ==========================================================================


class TestCommitGrant:
    def test_commitment_posts_receivable_against_pledged(self) -> None:
        entry = new_id()
        grant = committed(entry_id=entry)()
        events = then(grant)
        assert names(events) == ["Grant.Committed"]
        (event,) = events
        assert as_tuples(event.legs) == [
            (f"commitments:receivable:{SCHOOL}", GRANT, "KZT"),
            (f"commitments:pledged:{DONOR}", -GRANT, "KZT"),
        ]
        assert (event.entry_id, event.amount, event.currency) == (entry, GRANT, "KZT")
        assert event.programme == PROGRAMME
        assert event.value_date == DAY
        rebuilt: Grant = replay(events)
        assert rebuilt.summary() == {"committed": GRANT, "disbursed": 0, "undisbursed": GRANT}
        assert rebuilt.entries[entry].kind == "commitment"
        assert rebuilt.commitment_entry == entry

    @pytest.mark.parametrize("amount", [1, MAX_ENTRY_AMOUNT])
    def test_amount_bounds_accepted(self, amount: int) -> None:
        assert committed(amount)().committed == amount

    @pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=BAD_AMOUNT_IDS)
    def test_refuses_invalid_amounts(self, amount: Any) -> None:
        with pytest.raises(InvalidAmount):
            committed(amount)()

    @pytest.mark.parametrize("currency", BAD_CURRENCIES)
    def test_refuses_unknown_currency(self, currency: str) -> None:
        with pytest.raises(UnknownCurrency):
            committed(currency=currency)()

    @pytest.mark.parametrize("currency", ["USD", "EUR", "JPY", "KWD"])
    def test_other_iso_currencies_accepted(self, currency: str) -> None:
        legs = then(committed(currency=currency)())[0].legs
        assert {leg.currency for leg in legs} == {currency}

    @pytest.mark.parametrize("value_date", BAD_DATES)
    def test_refuses_value_dates_outside_the_window(self, value_date: Any) -> None:
        with pytest.raises(InvalidValue, match="value_date"):
            Grant.commit(
                entry_id=new_id(),
                donor=DONOR,
                school=SCHOOL,
                programme=None,
                amount=1,
                currency="KZT",
                value_date=value_date,
                reference="R",
                **META,
            )

    @pytest.mark.parametrize("value_date", EDGE_DATES)
    def test_accepts_window_edges(self, value_date: dt.date) -> None:
        grant = Grant.commit(
            entry_id=new_id(),
            donor=DONOR,
            school=SCHOOL,
            programme=None,
            amount=1,
            currency="KZT",
            value_date=value_date,
            reference="R",
            **META,
        )
        assert then(grant)[0].value_date == value_date

    @pytest.mark.parametrize("reference", ["", "  ", "r" * 101])
    def test_refuses_invalid_reference(self, reference: str) -> None:
        with pytest.raises(InvalidValue, match="reference"):
            Grant.commit(
                entry_id=new_id(),
                donor=DONOR,
                school=SCHOOL,
                programme=None,
                amount=1,
                currency="KZT",
                value_date=DAY,
                reference=reference,
                **META,
            )


class TestDisburse:
    def test_disbursement_posts_cash_and_releases_the_commitment(self) -> None:
        grant = given(committed(1_000))
        entry = new_id()
        disbursed(400, entry)(grant)
        events = then(grant)
        assert names(events) == ["Grant.Disbursed"]
        assert as_tuples(events[0].legs) == [
            (f"schools:{SCHOOL}:cash", 400, "KZT"),
            (f"donors:{DONOR}:disbursed", -400, "KZT"),
            (f"commitments:pledged:{DONOR}", 400, "KZT"),
            (f"commitments:receivable:{SCHOOL}", -400, "KZT"),
        ]
        assert events[0].payment_reference == "PP-001"
        assert grant.summary() == {"committed": 1_000, "disbursed": 400, "undisbursed": 600}
        assert grant.entries[entry].kind == "disbursement"

    def test_may_disburse_exactly_the_undisbursed_rest(self) -> None:
        grant = given(committed(1_000), disbursed(400))
        disbursed(600)(grant)
        assert names(then(grant)) == ["Grant.Disbursed"]
        assert grant.undisbursed == 0

    @pytest.mark.parametrize(
        ("history", "amount"),
        [
            ((), 1_001),
            ((disbursed(400),), 601),
            ((disbursed(1_000),), 1),
            ((reduced(300),), 701),
            ((reduced(None),), 1),
        ],
        ids=["over-commitment", "over-rest", "fully-disbursed", "over-reduced", "cancelled"],
    )
    def test_never_exceeds_the_undisbursed_commitment(
        self, history: tuple[Callable[..., Any], ...], amount: int
    ) -> None:
        grant = given(committed(1_000), *history)
        before = grant.summary()
        with pytest.raises(InsufficientUndisbursed):
            disbursed(amount)(grant)
        nothing_pending(grant)
        assert grant.summary() == before

    def test_refuses_another_currency(self) -> None:
        grant = given(committed(1_000))
        with pytest.raises(CurrencyMismatch):
            disbursed(10, currency="USD")(grant)
        nothing_pending(grant)
        assert grant.disbursed == 0

    @pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=BAD_AMOUNT_IDS)
    def test_refuses_invalid_amounts(self, amount: Any) -> None:
        grant = given(committed(MAX_ENTRY_AMOUNT))
        with pytest.raises(InvalidAmount):
            disbursed(amount)(grant)
        nothing_pending(grant)

    def test_the_largest_amount_is_accepted(self) -> None:
        grant = given(committed(MAX_ENTRY_AMOUNT))
        disbursed(MAX_ENTRY_AMOUNT)(grant)
        assert then(grant)[0].amount == MAX_ENTRY_AMOUNT

    @pytest.mark.parametrize("value_date", BAD_DATES)
    def test_refuses_value_dates_outside_the_window(self, value_date: Any) -> None:
        grant = given(committed(1_000))
        with pytest.raises(InvalidValue, match="value_date"):
            grant.disburse(
                entry_id=new_id(),
                amount=1,
                currency="KZT",
                value_date=value_date,
                payment_reference="PP",
                **META,
            )
        nothing_pending(grant)

    @pytest.mark.parametrize("payment_reference", ["", " ", "p" * 101])
    def test_refuses_invalid_payment_reference(self, payment_reference: str) -> None:
        grant = given(committed(1_000))
        with pytest.raises(InvalidValue, match="payment_reference"):
            grant.disburse(
                entry_id=new_id(),
                amount=1,
                currency="KZT",
                value_date=DAY,
                payment_reference=payment_reference,
                **META,
            )
        nothing_pending(grant)


class TestReduceAndCancel:
    def test_reduction_releases_part_of_the_commitment(self) -> None:
        grant = given(committed(1_000), disbursed(100))
        entry = new_id()
        assert grant.reduce(entry_id=entry, amount=300, value_date=DAY, reason="r", **META) == 300
        events = then(grant)
        assert names(events) == ["Grant.Reduced"]
        assert as_tuples(events[0].legs) == [
            (f"commitments:pledged:{DONOR}", 300, "KZT"),
            (f"commitments:receivable:{SCHOOL}", -300, "KZT"),
        ]
        assert events[0].reason == "r"
        assert grant.summary() == {"committed": 700, "disbursed": 100, "undisbursed": 600}
        assert grant.entries[entry].kind == "reduction"

    def test_cancel_releases_exactly_the_undisbursed_rest(self) -> None:
        grant = given(committed(1_000), disbursed(250))
        amount = grant.reduce(entry_id=new_id(), amount=None, value_date=DAY, reason="c", **META)
        assert amount == 750
        events = then(grant)
        assert names(events) == ["Grant.Reduced"]
        assert events[0].amount == 750
        assert as_tuples(events[0].legs)[0] == (f"commitments:pledged:{DONOR}", 750, "KZT")
        assert grant.summary() == {"committed": 250, "disbursed": 250, "undisbursed": 0}

    @pytest.mark.parametrize(
        "history",
        [(disbursed(1_000),), (reduced(None),), (reduced(400), disbursed(600))],
        ids=["fully-disbursed", "already-cancelled", "reduced-then-disbursed"],
    )
    def test_cancel_with_nothing_undisbursed_is_refused(
        self, history: tuple[Callable[..., Any], ...]
    ) -> None:
        grant = given(committed(1_000), *history)
        with pytest.raises(InsufficientUndisbursed):
            reduced(None)(grant)
        nothing_pending(grant)

    def test_reduction_never_exceeds_the_undisbursed_commitment(self) -> None:
        grant = given(committed(1_000), disbursed(700))
        with pytest.raises(InsufficientUndisbursed):
            reduced(301)(grant)
        nothing_pending(grant)
        assert grant.committed == 1_000

    @pytest.mark.parametrize("amount", BAD_AMOUNTS[:-1], ids=BAD_AMOUNT_IDS[:-1])
    def test_refuses_invalid_amounts(self, amount: Any) -> None:
        grant = given(committed(1_000))
        with pytest.raises(InvalidAmount):
            reduced(amount)(grant)
        nothing_pending(grant)

    @pytest.mark.parametrize("reason", ["", "   ", "r" * 501, None])
    def test_refuses_invalid_reason(self, reason: Any) -> None:
        grant = given(committed(1_000))
        with pytest.raises(InvalidValue, match="reason"):
            grant.reduce(entry_id=new_id(), amount=1, value_date=DAY, reason=reason, **META)
        nothing_pending(grant)

    @pytest.mark.parametrize("value_date", BAD_DATES)
    def test_refuses_value_dates_outside_the_window(self, value_date: Any) -> None:
        grant = given(committed(1_000))
        with pytest.raises(InvalidValue, match="value_date"):
            grant.reduce(entry_id=new_id(), amount=None, value_date=value_date, reason="r", **META)
        nothing_pending(grant)


# == school account: cash and expenditure ============================================


class TestExpenditure:
    def test_cash_arrives_without_legs_of_its_own(self) -> None:
        # A disbursement's legs are on the grant's event; the account's mirror has none,
        # so a journal summing every event's legs counts the cash exactly once.
        account = given(opened())
        account.receive(entry_id=new_id(), amount=500, currency="KZT", **META)
        events = then(account)
        assert names(events) == ["SchoolAccount.FundsReceived"]
        assert not hasattr(events[0], "legs")
        assert account.cash == {"KZT": 500}

    def test_expenditure_moves_cash_to_spent_by_category(self) -> None:
        account = given(opened(), received(1_000), received(70, "USD"))
        entry = new_id()
        spent(600, entry, category="subject-classrooms")(account)
        events = then(account)
        assert names(events) == ["SchoolAccount.ExpenditureRecorded"]
        assert as_tuples(events[0].legs) == [
            (f"schools:{SCHOOL}:spent:subject-classrooms", 600, "KZT"),
            (f"schools:{SCHOOL}:cash", -600, "KZT"),
        ]
        assert account.cash == {"KZT": 400, "USD": 70}
        assert account.entries[entry] == EntryState(
            "expenditure", 600, "KZT", tuple(events[0].legs), value_date=DAY
        )

    def test_may_spend_all_cash_on_hand(self) -> None:
        account = given(opened(), received(1_000), spent(400))
        spent(600)(account)
        assert names(then(account)) == ["SchoolAccount.ExpenditureRecorded"]
        assert account.cash_on_hand("KZT") == 0

    @pytest.mark.parametrize(
        ("history", "amount", "currency"),
        [
            ((), 1, "KZT"),
            ((received(1_000),), 1_001, "KZT"),
            ((received(1_000), spent(999)), 2, "KZT"),
            ((received(1_000),), 1, "USD"),  # cash is per currency, never summed
        ],
        ids=["empty", "over-cash", "after-spending", "other-currency"],
    )
    def test_never_exceeds_cash_on_hand(
        self, history: tuple[Callable[..., Any], ...], amount: int, currency: str
    ) -> None:
        account = given(opened(), *history)
        before = dict(account.cash)
        with pytest.raises(InsufficientCash):
            spent(amount, currency=currency)(account)
        nothing_pending(account)
        assert account.cash == before

    @pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=BAD_AMOUNT_IDS)
    def test_refuses_invalid_amounts(self, amount: Any) -> None:
        account = given(opened(), received(MAX_ENTRY_AMOUNT))
        with pytest.raises(InvalidAmount):
            spent(amount)(account)
        nothing_pending(account)

    @pytest.mark.parametrize("currency", BAD_CURRENCIES)
    def test_refuses_unknown_currency(self, currency: str) -> None:
        account = given(opened(), received(1_000))
        with pytest.raises(UnknownCurrency):
            spent(1, currency=currency)(account)
        nothing_pending(account)

    @pytest.mark.parametrize("category", ["", "a", "Equipment", "lab equipment", "x" * 49, "-x"])
    def test_refuses_invalid_category(self, category: str) -> None:
        account = given(opened(), received(1_000))
        with pytest.raises(InvalidValue, match="category"):
            spent(1, category=category)(account)
        nothing_pending(account)

    def test_refuses_a_long_description(self) -> None:
        account = given(opened(), received(1_000))
        with pytest.raises(InvalidValue, match="description"):
            account.spend(
                entry_id=new_id(),
                amount=1,
                currency="KZT",
                category="equipment",
                value_date=DAY,
                reference="R",
                description="d" * 501,
                **META,
            )
        nothing_pending(account)

    @pytest.mark.parametrize("value_date", BAD_DATES)
    def test_refuses_value_dates_outside_the_window(self, value_date: Any) -> None:
        account = given(opened(), received(1_000))
        with pytest.raises(InvalidValue, match="value_date"):
            account.spend(
                entry_id=new_id(),
                amount=1,
                currency="KZT",
                category="equipment",
                value_date=value_date,
                reference="R",
                description="",
                **META,
            )
        nothing_pending(account)

    def test_withdrawal_for_a_reversal_never_exceeds_cash(self) -> None:
        account = given(opened(), received(1_000), spent(800))
        with pytest.raises(InsufficientCash):
            account.withdraw_for_reversal(entry_id=new_id(), amount=201, currency="KZT", **META)
        nothing_pending(account)
        account.withdraw_for_reversal(entry_id=new_id(), amount=200, currency="KZT", **META)
        events = then(account)
        assert names(events) == ["SchoolAccount.FundsWithdrawn"]
        assert not hasattr(events[0], "legs")
        assert account.cash == {"KZT": 0}


class TestSpentFrom:
    """Spending and gifts to a school may name the grant or programme they came from."""

    def test_a_named_grant_gives_its_id_and_programme(self) -> None:
        grant = committed()()
        account = given(opened(), received(1_000))
        spent(300, from_grant=grant)(account)
        (event,) = then(account)
        assert (event.from_grant, event.from_programme) == (str(grant.id), PROGRAMME)

    def test_a_named_programme_and_nothing_named(self) -> None:
        programme = Programme.register(code="aktobe-pilot", name="Aktobe pilot", **META)
        account = given(opened(), received(1_000))
        spent(300, from_programme=programme)(account)
        spent(300)(account)
        named, unnamed = then(account)
        assert (named.from_grant, named.from_programme) == (None, "aktobe-pilot")
        assert (unnamed.from_grant, unnamed.from_programme) == (None, None)

    def test_a_grant_of_another_school_or_two_sources_record_nothing(self) -> None:
        grant = committed()()
        programme = Programme.register(code="aktobe-pilot", name="Aktobe pilot", **META)
        account = given(opened("another-school"), received(1_000))
        with pytest.raises(InvalidValue, match="another-school"):
            spent(300, from_grant=grant)(account)
        with pytest.raises(InvalidValue, match="not both"):
            given(opened(), received(1_000), spent(1, from_grant=grant, from_programme=programme))
        nothing_pending(account)
        assert account.cash == {"KZT": 1_000}

    def test_in_kind_to_a_school_names_its_source_but_to_a_programme_not(self) -> None:
        grant = committed()()
        donor = given(registered_donor(NIS))
        in_kind(300, from_grant=grant)(donor)
        (event,) = then(donor)
        assert (event.from_grant, event.from_programme) == (str(grant.id), PROGRAMME)
        with pytest.raises(InvalidValue, match="counts under that programme"):
            in_kind(300, school=None, programme=PROGRAMME, from_grant=grant)(donor)
        nothing_pending(donor)


# == donors: operating costs and in kind =============================================


class TestOperatingCost:
    def test_operating_cost_posts_operations_against_the_donor(self) -> None:
        donor = given(registered_donor())
        entry = new_id()
        operating_cost(5_000_000, entry, category="monitoring")(donor)
        events = then(donor)
        assert names(events) == ["Donor.OperatingCostCovered"]
        assert as_tuples(events[0].legs) == [
            ("operations:monitoring", 5_000_000, "KZT"),
            (f"donors:{OPS_DONOR}:operating", -5_000_000, "KZT"),
        ]
        assert events[0].programme == PROGRAMME
        assert donor.entries[entry].kind == "operating-cost"

    def test_without_a_programme(self) -> None:
        donor = given(registered_donor())
        operating_cost(1, programme=None, currency="USD")(donor)
        (event,) = then(donor)
        assert event.programme is None
        assert {leg.currency for leg in event.legs} == {"USD"}

    @pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=BAD_AMOUNT_IDS)
    def test_refuses_invalid_amounts(self, amount: Any) -> None:
        donor = given(registered_donor())
        with pytest.raises(InvalidAmount):
            operating_cost(amount)(donor)
        nothing_pending(donor)

    @pytest.mark.parametrize("currency", BAD_CURRENCIES)
    def test_refuses_unknown_currency(self, currency: str) -> None:
        donor = given(registered_donor())
        with pytest.raises(UnknownCurrency):
            operating_cost(1, currency=currency)(donor)
        nothing_pending(donor)

    @pytest.mark.parametrize("category", ["", "Staff", "staff costs", "s"])
    def test_refuses_invalid_category(self, category: str) -> None:
        donor = given(registered_donor())
        with pytest.raises(InvalidValue, match="category"):
            operating_cost(1, category=category)(donor)
        nothing_pending(donor)

    @pytest.mark.parametrize("value_date", BAD_DATES)
    def test_refuses_value_dates_outside_the_window(self, value_date: Any) -> None:
        donor = given(registered_donor())
        with pytest.raises(InvalidValue, match="value_date"):
            donor.cover_operating_cost(
                entry_id=new_id(),
                amount=1,
                currency="KZT",
                category="staff",
                programme=None,
                value_date=value_date,
                reference="R",
                description="",
                **META,
            )
        nothing_pending(donor)


class TestInKind:
    def test_training_in_kind_to_a_school(self) -> None:
        donor = given(registered_donor(NIS))
        entry = new_id()
        in_kind(12_000_000, entry, quantities={"teachers_trained": 40, "courses": 2, "hours": 72})(
            donor
        )
        events = then(donor)
        assert names(events) == ["Donor.InKindContributed"]
        (event,) = events
        assert as_tuples(event.legs) == [
            (f"schools:{SCHOOL}:inkind:teacher-training", 12_000_000, "KZT"),
            (f"donors:{NIS}:inkind", -12_000_000, "KZT"),
        ]
        assert list(event.quantities.items()) == [
            ("courses", 2),
            ("hours", 72),
            ("teachers_trained", 40),
        ]
        assert (event.school, event.programme) == (SCHOOL, None)
        assert event.valuation_basis == "NIS course rate x teachers trained"
        assert donor.entries[entry].kind == "in-kind"

    def test_in_kind_to_a_programme(self) -> None:
        donor = given(registered_donor(NIS))
        in_kind(3_000, school=None, programme=PROGRAMME, kind="methodology")(donor)
        (event,) = then(donor)
        assert as_tuples(event.legs) == [
            (f"programmes:{PROGRAMME}:inkind:methodology", 3_000, "KZT"),
            (f"donors:{NIS}:inkind", -3_000, "KZT"),
        ]

    def test_empty_quantities_and_bounds_accepted(self) -> None:
        donor = given(registered_donor(NIS))
        in_kind(1, quantities={})(donor)
        in_kind(1, quantities={"participants": 0, "schools_reached": 10**9})(donor)
        events = then(donor)
        assert [e.quantities for e in events] == [{}, {"participants": 0, "schools_reached": 10**9}]

    @pytest.mark.parametrize(
        ("school", "programme"), [(None, None), (SCHOOL, PROGRAMME)], ids=["neither", "both"]
    )
    def test_goes_to_exactly_one_school_or_programme(
        self, school: str | None, programme: str | None
    ) -> None:
        donor = given(registered_donor(NIS))
        with pytest.raises(InvalidValue, match="exactly one"):
            in_kind(1, school=school, programme=programme)(donor)
        nothing_pending(donor)

    @pytest.mark.parametrize(
        "quantities",
        [
            {"students": 3},
            {"teachers_trained": -1},
            {"hours": 10**9 + 1},
            {"hours": True},
            {"hours": 1.5},
            {"hours": "3"},
            {"courses": 1, "Hours": 2},
        ],
        ids=["unknown-name", "negative", "too-many", "bool", "float", "str", "case"],
    )
    def test_refuses_invalid_quantities(self, quantities: dict[str, Any]) -> None:
        donor = given(registered_donor(NIS))
        with pytest.raises(InvalidValue, match="quantity"):
            in_kind(1, quantities=quantities)(donor)
        nothing_pending(donor)

    @pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=BAD_AMOUNT_IDS)
    def test_refuses_invalid_fair_value(self, amount: Any) -> None:
        donor = given(registered_donor(NIS))
        with pytest.raises(InvalidAmount):
            in_kind(amount)(donor)
        nothing_pending(donor)

    @pytest.mark.parametrize("currency", BAD_CURRENCIES)
    def test_refuses_unknown_currency(self, currency: str) -> None:
        donor = given(registered_donor(NIS))
        with pytest.raises(UnknownCurrency):
            in_kind(1, currency=currency)(donor)
        nothing_pending(donor)

    @pytest.mark.parametrize("basis", ["", "  ", "b" * 501])
    def test_refuses_invalid_valuation_basis(self, basis: str) -> None:
        donor = given(registered_donor(NIS))
        with pytest.raises(InvalidValue, match="valuation_basis"):
            in_kind(1, valuation_basis=basis)(donor)
        nothing_pending(donor)

    @pytest.mark.parametrize("kind", ["", "Training", "teacher training", "t"])
    def test_refuses_invalid_kind(self, kind: str) -> None:
        donor = given(registered_donor(NIS))
        with pytest.raises(InvalidValue, match="kind"):
            in_kind(1, kind=kind)(donor)
        nothing_pending(donor)

    @pytest.mark.parametrize("value_date", BAD_DATES)
    def test_refuses_value_dates_outside_the_window(self, value_date: Any) -> None:
        donor = given(registered_donor(NIS))
        with pytest.raises(InvalidValue, match="value_date"):
            donor.contribute_in_kind(
                entry_id=new_id(),
                kind="training",
                fair_value=1,
                currency="KZT",
                valuation_basis="basis",
                quantities={},
                school=SCHOOL,
                programme=None,
                value_date=value_date,
                **META,
            )
        nothing_pending(donor)


# == reversals =======================================================================


Step = Callable[[Any], object]

# For each kind of entry: how to build an owner whose history records it under a given id.
REVERSIBLE: dict[str, Callable[[str], tuple[Callable[[], EntryOwner], list[Step]]]] = {
    "commitment": lambda e: (committed(1_000, entry_id=e), []),
    "disbursement": lambda e: (committed(1_000), [disbursed(100), disbursed(300, e)]),
    "reduction": lambda e: (committed(1_000), [disbursed(100), reduced(200, e)]),
    "cancellation": lambda e: (committed(1_000), [disbursed(100), reduced(None, e)]),
    "expenditure": lambda e: (opened(), [received(1_000), spent(300, e)]),
    "operating-cost": lambda e: (registered_donor(), [operating_cost(300, e)]),
    "in-kind-school": lambda e: (registered_donor(NIS), [in_kind(300, e)]),
    "in-kind-programme": lambda e: (
        registered_donor(NIS),
        [in_kind(300, e, school=None, programme=PROGRAMME)],
    ),
}


def owner_of(kind: str, entry: str) -> tuple[EntryOwner, list[Any]]:
    create, steps = REVERSIBLE[kind](entry)
    return given_history(create, *steps)


def _balances(owner: EntryOwner) -> Any:
    if isinstance(owner, Grant):
        return owner.summary()
    if isinstance(owner, SchoolAccount):
        return dict(owner.cash)
    return None


class TestReversal:
    @pytest.mark.parametrize("kind", list(REVERSIBLE))
    def test_reversal_posts_the_original_legs_swapped(self, kind: str) -> None:
        entry = new_id()
        owner, history = owner_of(kind, entry)
        original = owner.entries[entry]
        reversal = new_id()
        returned = owner.reverse(
            entry_id=entry, reversal_entry_id=reversal, value_date=DAY, reason="wrong", **META
        )
        assert returned is original
        events = then(owner)
        # The event class is declared once on EntryOwner, for every kind of owner.
        assert [type(e).__name__ for e in events] == ["EntryReversed"]
        assert events[0].originator_id == owner.id
        (event,) = events
        assert (event.entry_id, event.reversal_entry_id, event.reason) == (
            entry,
            reversal,
            "wrong",
        )
        assert as_tuples(event.legs) == [
            (leg.account, -leg.amount, leg.currency) for leg in original.legs
        ]
        # Together, the entry and its reversal net every account to zero.
        net: Counter[tuple[str, str]] = Counter()
        for leg in (*original.legs, *event.legs):
            net[leg.account, leg.currency] += leg.amount
        assert set(net.values()) == {0}
        assert owner.entries[entry].reversed_by == reversal
        assert owner.entries[reversal].kind == "reversal"
        # State after the command equals state rebuilt from all events.
        rebuilt = replay([*history, event])
        assert rebuilt.entries[entry].reversed_by == reversal
        assert _balances(rebuilt) == _balances(owner)

    def test_reversing_a_disbursement_restores_the_undisbursed_commitment(self) -> None:
        entry = new_id()
        grant = given(committed(1_000), disbursed(300, entry), disbursed(200))
        reversed_(entry)(grant)
        then(grant)
        assert grant.summary() == {"committed": 1_000, "disbursed": 200, "undisbursed": 800}
        disbursed(800)(grant)
        assert grant.undisbursed == 0

    @pytest.mark.parametrize("kind", ["reduction", "cancellation"])
    def test_reversing_a_reduction_restores_the_commitment(self, kind: str) -> None:
        entry = new_id()
        grant, _ = owner_of(kind, entry)
        assert isinstance(grant, Grant)
        reversed_(entry)(grant)
        then(grant)
        assert grant.summary() == {"committed": 1_000, "disbursed": 100, "undisbursed": 900}

    def test_reversing_an_expenditure_restores_cash(self) -> None:
        entry = new_id()
        account = given(opened(), received(1_000), spent(300, entry), spent(700))
        assert account.cash == {"KZT": 0}
        reversed_(entry)(account)
        then(account)
        assert account.cash == {"KZT": 300}

    def test_reversing_a_commitment_leaves_nothing_to_disburse(self) -> None:
        entry = new_id()
        grant = given(committed(1_000, entry_id=entry))
        reversed_(entry)(grant)
        then(grant)
        assert grant.summary() == {"committed": 0, "disbursed": 0, "undisbursed": 0}
        with pytest.raises(InsufficientUndisbursed):
            disbursed(1)(grant)
        with pytest.raises(InsufficientUndisbursed):
            reduced(None)(grant)
        nothing_pending(grant)

    @pytest.mark.parametrize("kind", list(REVERSIBLE))
    def test_an_entry_is_reversed_only_once(self, kind: str) -> None:
        entry = new_id()
        owner, history = owner_of(kind, entry)
        first = new_id()
        reversed_(entry, first)(owner)
        owner = replay([*history, *then(owner)])
        before = _balances(owner)
        with pytest.raises(AlreadyReversed, match=first):
            reversed_(entry)(owner)
        nothing_pending(owner)
        assert _balances(owner) == before

    @pytest.mark.parametrize("kind", list(REVERSIBLE))
    def test_a_reversal_is_not_reversed(self, kind: str) -> None:
        entry, reversal = new_id(), new_id()
        owner, _ = owner_of(kind, entry)
        reversed_(entry, reversal)(owner)
        then(owner)
        with pytest.raises(NotReversible):
            reversed_(reversal)(owner)
        nothing_pending(owner)
        assert owner.entries[reversal].reversed_by is None

    @pytest.mark.parametrize("kind", list(REVERSIBLE))
    def test_a_reversal_is_never_dated_before_its_entry(self, kind: str) -> None:
        entry = new_id()
        owner, _ = owner_of(kind, entry)
        assert owner.entry_value_date(entry) == DAY
        before = _balances(owner)
        with pytest.raises(ReversalBeforeEntry, match=DAY.isoformat()):
            owner.reverse(
                entry_id=entry, reversal_entry_id=new_id(),
                value_date=DAY - dt.timedelta(days=1), reason="wrong", **META,
            )  # fmt: skip
        nothing_pending(owner)
        assert _balances(owner) == before and owner.entries[entry].reversed_by is None
        # The same day is fine, and the reversal's own state carries its date.
        reversal = new_id()
        owner.reverse(
            entry_id=entry, reversal_entry_id=reversal, value_date=DAY, reason="wrong", **META
        )
        assert owner.entries[reversal].value_date == DAY

    def test_an_entry_state_without_its_date_takes_the_recorded_one(self) -> None:
        """State restored from a snapshot older than entry dates: the application hands
        in the date its recording event carries."""
        entry = new_id()
        owner, _ = owner_of("expenditure", entry)
        owner.entries[entry].value_date = None
        with pytest.raises(ReversalBeforeEntry):
            owner.reverse(
                entry_id=entry, reversal_entry_id=new_id(), value_date=DAY - dt.timedelta(1),
                reason="wrong", recorded_value_date=DAY, **META,
            )  # fmt: skip
        nothing_pending(owner)

    @pytest.mark.parametrize(
        "standing",
        [lambda e: disbursed(100, e), lambda e: reduced(100, e), lambda e: reduced(None, e)],
        ids=["disbursement", "reduction", "cancellation"],
    )
    def test_a_commitment_with_standing_entries_is_not_reversed(
        self, standing: Callable[[str], Callable[..., Any]]
    ) -> None:
        commitment, other = new_id(), new_id()
        grant = given(committed(1_000, entry_id=commitment), standing(other))
        before = grant.summary()
        with pytest.raises(NotReversible, match="reverse those first"):
            reversed_(commitment)(grant)
        nothing_pending(grant)
        assert grant.summary() == before
        assert grant.entries[commitment].reversed_by is None
        # Once the dependent entry is reversed, the commitment may be.
        reversed_(other)(grant)
        reversed_(commitment)(grant)
        assert [type(e).__name__ for e in then(grant)] == ["EntryReversed", "EntryReversed"]
        assert grant.summary() == {"committed": 0, "disbursed": 0, "undisbursed": 0}

    def test_unknown_entry_is_not_found(self) -> None:
        grant = given(committed(1_000))
        with pytest.raises(NotFound):
            reversed_(new_id())(grant)
        nothing_pending(grant)

    def test_an_entry_of_another_aggregate_is_not_found_here(self) -> None:
        entry = new_id()
        given(opened(), received(1_000), spent(10, entry))
        grant = given(committed(1_000))
        with pytest.raises(NotFound):
            reversed_(entry)(grant)
        nothing_pending(grant)

    @pytest.mark.parametrize("value_date", BAD_DATES)
    def test_refuses_value_dates_outside_the_window(self, value_date: Any) -> None:
        entry = new_id()
        grant = given(committed(1_000), disbursed(10, entry))
        with pytest.raises(InvalidValue, match="value_date"):
            grant.reverse(
                entry_id=entry,
                reversal_entry_id=new_id(),
                value_date=value_date,
                reason="r",
                **META,
            )
        nothing_pending(grant)
        assert grant.entries[entry].reversed_by is None

    @pytest.mark.parametrize("reason", ["", "   ", "r" * 501])
    def test_refuses_an_invalid_reason(self, reason: str) -> None:
        entry = new_id()
        grant = given(committed(1_000), disbursed(10, entry))
        with pytest.raises(InvalidValue, match="reason"):
            grant.reverse(
                entry_id=entry, reversal_entry_id=new_id(), value_date=DAY, reason=reason, **META
            )
        nothing_pending(grant)


# == locators, idempotency claims, money helpers =====================================


class TestLocatorAndClaim:
    def test_a_locator_is_identified_by_its_entry_id(self) -> None:
        grant = given(committed(1_000))
        entry = new_id()
        locator = new_locator(entry, "disbursement", grant, reverses=None, **META)
        (event,) = then(locator)
        assert type(event).__qualname__ == "EntryLocator.Registered"
        assert isinstance(locator, EntryLocator)
        assert str(locator.id) == entry
        assert (locator.kind, locator.owner_type, locator.owner_id) == (
            "disbursement",
            "Grant",
            grant.id,
        )

    def test_a_claim_replays_its_answer_for_the_same_request_only(self) -> None:
        claim = IdempotencyClaim.claim(
            actor="alice",
            key="key-0000-0001",
            command="disburse",
            fingerprint="abc",
            response={"entry_id": "e1"},
        )
        assert claim.id == claim_id("alice", "key-0000-0001")
        assert claim.id != claim_id("bob", "key-0000-0001")
        rebuilt: IdempotencyClaim = replay(then(claim))
        assert rebuilt.replay("disburse", "abc") == {"entry_id": "e1"}
        with pytest.raises(IdempotencyKeyReused):
            rebuilt.replay("disburse", "abd")
        with pytest.raises(IdempotencyKeyReused):
            rebuilt.replay("reduce_grant", "abc")

    @pytest.mark.parametrize("key", ["short", "has space in it", "k" * 129, "ключ-ключ-ключ", ""])
    def test_a_claim_refuses_a_malformed_key(self, key: str) -> None:
        with pytest.raises(InvalidValue, match="Idempotency-Key"):
            IdempotencyClaim.claim(
                actor="alice", key=key, command="c", fingerprint="f", response={}
            )


class TestPostingRules:
    def test_unbalanced_postings_are_refused(self) -> None:
        with pytest.raises(UnbalancedPosting):
            check_balanced([Leg("a", 1, "KZT"), Leg("b", -1, "USD")])
        with pytest.raises(UnbalancedPosting):
            check_balanced([Leg("a", 0, "KZT"), Leg("b", 0, "KZT")])
        with pytest.raises(UnbalancedPosting):
            check_balanced([])

    def test_every_domain_error_has_a_stable_code(self) -> None:
        classes = [
            AlreadyReversed,
            CurrencyMismatch,
            InsufficientCash,
            InsufficientUndisbursed,
            InvalidValue,
            NotFound,
            NotReversible,
            UnbalancedPosting,
            IdempotencyKeyReused,
        ]
        codes = [cls.code for cls in classes]
        assert all(issubclass(cls, DomainError) for cls in classes)
        assert len(set(codes)) == len(codes)
        assert InvalidAmount(0).code == "invalid-amount"
        assert UnknownCurrency("XYZ").code == "unknown-currency"
