"""The chart of accounts from DESIGN.md: which legs each financial fact posts."""

from __future__ import annotations

from ledger.domain.money import Leg, account, check_balanced, transfer


def commitment(donor: str, school: str, amount: int, currency: str) -> tuple[Leg, ...]:
    return check_balanced(
        transfer(
            account("commitments", "receivable", school),
            account("commitments", "pledged", donor),
            amount,
            currency,
        )
    )


def commitment_release(donor: str, school: str, amount: int, currency: str) -> tuple[Leg, ...]:
    """Reducing a commitment, or the release half of a disbursement."""
    return check_balanced(
        transfer(
            account("commitments", "pledged", donor),
            account("commitments", "receivable", school),
            amount,
            currency,
        )
    )


def disbursement(donor: str, school: str, amount: int, currency: str) -> tuple[Leg, ...]:
    cash = transfer(
        account("schools", school, "cash"), account("donors", donor, "disbursed"), amount, currency
    )
    return check_balanced(cash + commitment_release(donor, school, amount, currency))


def expenditure(school: str, category: str, amount: int, currency: str) -> tuple[Leg, ...]:
    return check_balanced(
        transfer(
            account("schools", school, "spent", category),
            account("schools", school, "cash"),
            amount,
            currency,
        )
    )


def operating_cost(donor: str, category: str, amount: int, currency: str) -> tuple[Leg, ...]:
    return check_balanced(
        transfer(
            account("operations", category),
            account("donors", donor, "operating"),
            amount,
            currency,
        )
    )


def in_kind(
    donor: str, kind: str, amount: int, currency: str, *, school: str | None, programme: str | None
) -> tuple[Leg, ...]:
    if (school is None) == (programme is None):
        msg = "an in-kind contribution goes to exactly one school or one programme"
        raise ValueError(msg)
    target = (
        account("schools", school, "inkind", kind)
        if school is not None
        else account("programmes", str(programme), "inkind", kind)
    )
    return check_balanced(transfer(target, account("donors", donor, "inkind"), amount, currency))


def reversal(legs: tuple[Leg, ...]) -> tuple[Leg, ...]:
    """The original legs, sides swapped."""
    return check_balanced(leg.swapped() for leg in legs)
