"""A donor, and the facts it records without a grant: operating costs and in-kind gifts."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain import chart
from ledger.domain.account import check_category, check_description
from ledger.domain.entries import (
    EntryOwner,
    EntryState,
    check_value_date,
    legs_tuple,
)
from ledger.domain.errors import InvalidValue
from ledger.domain.grant import check_reference
from ledger.domain.money import Leg, check_amount, check_currency
from ledger.domain.registry import check_code, check_text, registry_id
from ledger.domain.sources import spent_from, upcast_naming_no_source

if TYPE_CHECKING:
    from ledger.domain.grant import Grant
    from ledger.domain.registry import Programme

QUANTITY_NAMES: frozenset[str] = frozenset(
    {"teachers_trained", "hours", "courses", "participants", "schools_reached"}
)
MAX_QUANTITY = 10**9


def check_quantities(quantities: dict[str, int]) -> dict[str, int]:
    for name, value in quantities.items():
        if name not in QUANTITY_NAMES:
            raise InvalidValue(f"quantity {name!r} is not one of {sorted(QUANTITY_NAMES)}")
        if type(value) is not int or not 0 <= value <= MAX_QUANTITY:
            raise InvalidValue(f"quantity {name!r} must be an integer 0..{MAX_QUANTITY}")
    return dict(sorted(quantities.items()))


# How a donor contributes (DESIGN.md: the fund gives cash grants, the holding covers
# operating costs, the school network trains teachers in kind).
DONOR_KINDS: frozenset[str] = frozenset({"fund", "holding", "network", "government", "other"})
# Donors registered before kinds existed (stored Registered v1 events) read as this.
UNSPECIFIED_KIND = "unspecified"


def check_donor_kind(kind: str) -> str:
    if kind not in DONOR_KINDS:
        raise InvalidValue(f"donor kind {kind!r} is not one of {sorted(DONOR_KINDS)}")
    return kind


class Donor(EntryOwner):
    # v2: donors have a kind. Snapshots taken before it lack the attribute.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["kind"] = UNSPECIFIED_KIND

    class Registered(EntryOwner.Created):
        """A donor entered the registry. v2 added ``kind``; v1 events read as unspecified."""

        class_version = 2
        code: str
        name: str
        kind: str
        actor: str
        idempotency_key: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["kind"] = UNSPECIFIED_KIND

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return registry_id("donor", code)

    @classmethod
    def register(
        cls, *, code: str, name: str, kind: str | None = None, actor: str, idempotency_key: str
    ) -> Donor:
        return cls(
            code=check_code(code),
            name=check_text(name, "name"),
            kind=UNSPECIFIED_KIND if kind is None else check_donor_kind(kind),
            actor=actor,
            idempotency_key=idempotency_key,
        )

    @event(Registered)
    def __init__(self, code: str, name: str, kind: str, actor: str, idempotency_key: str) -> None:
        self.code = code
        self.name = name
        self.kind = kind
        self.entries: dict[str, EntryState] = {}

    # -- operating costs ----------------------------------------------------------

    def cover_operating_cost(
        self,
        *,
        entry_id: str,
        amount: int,
        currency: str,
        category: str,
        programme: str | None,
        value_date: dt.date,
        reference: str,
        description: str,
        actor: str,
        idempotency_key: str,
    ) -> None:
        check_amount(amount)
        check_currency(currency)
        self._operating_cost_covered(
            entry_id=entry_id,
            amount=amount,
            currency=currency,
            category=check_category(category),
            programme=programme,
            value_date=check_value_date(value_date),
            reference=check_reference(reference),
            description=check_description(description),
            legs=chart.operating_cost(self.code, category, amount, currency),
            actor=actor,
            idempotency_key=idempotency_key,
        )

    @event("OperatingCostCovered")
    def _operating_cost_covered(
        self,
        entry_id: str,
        amount: int,
        currency: str,
        category: str,
        programme: str | None,
        value_date: dt.date,
        reference: str,
        description: str,
        legs: tuple[Leg, ...],
        actor: str,
        idempotency_key: str,
    ) -> None:
        self.entries[entry_id] = EntryState(
            "operating-cost", amount, currency, legs_tuple(legs), value_date=value_date
        )

    # -- in-kind contributions ------------------------------------------------------

    def contribute_in_kind(
        self,
        *,
        entry_id: str,
        kind: str,
        fair_value: int,
        currency: str,
        valuation_basis: str,
        quantities: dict[str, int],
        school: str | None,
        programme: str | None,
        value_date: dt.date,
        actor: str,
        idempotency_key: str,
        from_grant: Grant | None = None,
        from_programme: Programme | None = None,
    ) -> None:
        """Record a gift in kind to one school or programme; a gift to a school may name
        the grant (of that school) or programme it counts under."""
        check_amount(fair_value)
        check_currency(currency)
        if (school is None) == (programme is None):
            raise InvalidValue("an in-kind contribution goes to exactly one school or programme")
        source = spent_from(school, from_grant, from_programme)
        self._in_kind_contributed(
            entry_id=entry_id,
            kind=check_category(kind, "kind"),
            fair_value=fair_value,
            currency=currency,
            valuation_basis=check_text(valuation_basis, "valuation_basis", 500),
            quantities=check_quantities(quantities),
            school=school,
            programme=programme,
            value_date=check_value_date(value_date),
            **source,
            legs=chart.in_kind(
                self.code, kind, fair_value, currency, school=school, programme=programme
            ),
            actor=actor,
            idempotency_key=idempotency_key,
        )

    class InKindContributed(EntryOwner.Event):
        """A donor gave in kind. v2 added the grant or programme a gift to a school counts
        under (``from_grant``, ``from_programme``); v1 events name neither."""

        class_version = 2
        entry_id: str
        kind: str
        fair_value: int
        currency: str
        valuation_basis: str
        quantities: dict[str, int]
        school: str | None
        programme: str | None
        value_date: dt.date
        from_grant: str | None
        from_programme: str | None
        legs: tuple[Leg, ...]
        actor: str
        idempotency_key: str

        upcast_v1_v2 = staticmethod(upcast_naming_no_source)

    @event(InKindContributed)
    def _in_kind_contributed(
        self,
        entry_id: str,
        kind: str,
        fair_value: int,
        currency: str,
        valuation_basis: str,
        quantities: dict[str, int],
        school: str | None,
        programme: str | None,
        value_date: dt.date,
        from_grant: str | None,
        from_programme: str | None,
        legs: tuple[Leg, ...],
        actor: str,
        idempotency_key: str,
    ) -> None:
        self.entries[entry_id] = EntryState(
            "in-kind", fair_value, currency, legs_tuple(legs), value_date=value_date
        )

    # -- reversal -------------------------------------------------------------------
