"""The chart of accounts from DESIGN.md: its account names, and which legs each fact posts.

Every account name is built and parsed here; the read side's figures, queries, exports
and gauges ask this module rather than spelling names out themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.domain.money import Leg, account, check_balanced, transfer

# -- account names ----------------------------------------------------------------


def _name(*segments: str) -> str:
    # Unchecked, so a reader can look up any code it is asked about; the postings
    # below check their segments (money.account) before a leg is built.
    return ":".join(segments)


# Buckets an account holds: a school's cash, its spending and in-kind receipts; what a
# school is owed and a donor has pledged; what a donor paid out, covered or gave in kind.
CASH, SPENT, INKIND = "cash", "spent", "inkind"
RECEIVABLE, PLEDGED = "receivable", "pledged"
DISBURSED, OPERATING = "disbursed", "operating"

# Every school's receivable starts so; a prefix the read side filters postings by.
RECEIVABLE_PREFIX = f"commitments:{RECEIVABLE}:"


def school_cash(school: str) -> str:
    return _name("schools", school, CASH)


def school_spent(school: str, category: str) -> str:
    return _name("schools", school, SPENT, category)


def school_inkind(school: str, kind: str) -> str:
    return _name("schools", school, INKIND, kind)


def programme_inkind(programme: str, kind: str) -> str:
    return _name("programmes", programme, INKIND, kind)


def receivable(school: str) -> str:
    return _name("commitments", RECEIVABLE, school)


def pledged(donor: str) -> str:
    return _name("commitments", PLEDGED, donor)


def donor_account(donor: str, bucket: str) -> str:
    """A donor's disbursed, operating or inkind account."""
    return _name("donors", donor, bucket)


def operations(category: str) -> str:
    return _name("operations", category)


def school_prefix(school: str, bucket: str) -> str:
    """What every account of one bucket of a school starts with (spent or inkind)."""
    return _name("schools", school, bucket) + ":"


@dataclass(frozen=True)
class AccountName:
    """A parsed account name: whose it is, which bucket, and its detail if any.

    ``holder`` is school, programme, donor or operations; ``code`` is that holder's code
    (empty for operations); ``detail`` is the spending category, the in-kind kind or the
    operating-cost category.
    """

    holder: str
    code: str
    bucket: str
    detail: str = ""


def parse(name: str) -> AccountName | None:
    """The parts of an account name of this chart; None for a name it never builds."""
    parts = name.split(":")
    match parts:
        case ["schools", code, bucket]:
            return AccountName("school", code, bucket)
        case ["schools", code, bucket, detail]:
            return AccountName("school", code, bucket, detail)
        case ["programmes", code, bucket, detail]:
            return AccountName("programme", code, bucket, detail)
        case ["commitments", bucket, code] if bucket == RECEIVABLE:
            return AccountName("school", code, bucket)
        case ["commitments", bucket, code] if bucket == PLEDGED:
            return AccountName("donor", code, bucket)
        case ["donors", code, bucket]:
            return AccountName("donor", code, bucket)
        case ["operations", category]:
            return AccountName("operations", "", OPERATING, category)
    return None


# -- postings ---------------------------------------------------------------------


def _check(*segments: str) -> None:
    """Refuse a code or category unsafe as an account segment (hledger, beancount)."""
    account(*segments)


def commitment(donor: str, school: str, amount: int, currency: str) -> tuple[Leg, ...]:
    _check(school, donor)
    return check_balanced(
        transfer(
            receivable(school),
            pledged(donor),
            amount,
            currency,
        )
    )


def commitment_release(donor: str, school: str, amount: int, currency: str) -> tuple[Leg, ...]:
    """Reducing a commitment, or the release half of a disbursement."""
    _check(donor, school)
    return check_balanced(
        transfer(
            pledged(donor),
            receivable(school),
            amount,
            currency,
        )
    )


def disbursement(donor: str, school: str, amount: int, currency: str) -> tuple[Leg, ...]:
    _check(school, donor)
    cash = transfer(school_cash(school), donor_account(donor, DISBURSED), amount, currency)
    return check_balanced(cash + commitment_release(donor, school, amount, currency))


def expenditure(school: str, category: str, amount: int, currency: str) -> tuple[Leg, ...]:
    _check(school, category)
    return check_balanced(
        transfer(
            school_spent(school, category),
            school_cash(school),
            amount,
            currency,
        )
    )


def operating_cost(donor: str, category: str, amount: int, currency: str) -> tuple[Leg, ...]:
    _check(category, donor)
    return check_balanced(
        transfer(
            operations(category),
            donor_account(donor, OPERATING),
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
    _check(*((school, kind) if school is not None else (str(programme), kind)), donor)
    target = (
        school_inkind(school, kind)
        if school is not None
        else programme_inkind(str(programme), kind)
    )
    return check_balanced(transfer(target, donor_account(donor, INKIND), amount, currency))


def reversal(legs: tuple[Leg, ...]) -> tuple[Leg, ...]:
    """The original legs, sides swapped."""
    return check_balanced(leg.swapped() for leg in legs)
