"""The demo dataset: the hub-school programme as a deterministic list of ledger commands.

Every command carries a fixed idempotency key, so loading twice records nothing new.
A command that needs an id made by an earlier command names that command's key instead
(``grant_ref`` / ``entry_ref``); the loader swaps in the id from the earlier response.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context, Recorded
from server import demo_data as d

# Phases run one after another; within a phase, lanes run concurrently, each in order.
REGISTRY, HUBS, SMALL_SCHOOLS, MONEY = range(4)
# A placeholder argument naming an earlier command's key -> the id argument it becomes.
REFS = {"grant_ref": "grant_id", "entry_ref": "entry_id"}
KZT = d.CURRENCY


@dataclass(frozen=True)
class DemoCommand:
    """One call of a ``LedgerApplication`` method, under its own idempotency key.

    ``lane`` names the aggregate a command works on (a hub school with its grant and
    account, a donor): a lane's commands depend on each other and keep their order;
    lanes of one ``phase`` touch different aggregates and may run at the same time.
    """

    method: str
    kwargs: dict[str, Any]
    key: str
    phase: int = MONEY
    lane: str = ""


@dataclass(frozen=True)
class DemoSummary:
    commands: int
    replayed: int
    last_position: int

    def __str__(self) -> str:
        recorded = self.commands - self.replayed
        return (
            f"{self.commands} commands: {recorded} recorded, {self.replayed} already there "
            f"(replayed); the event log is at position {self.last_position}"
        )


class _Builder:
    """Collects commands; one seeded RNG, drawn in a fixed order, makes them repeatable."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.commands: list[DemoCommand] = []
        self._numbers: dict[tuple[str, int], int] = {}

    def add(self, method: str, key: str, lane: str = "", phase: int = MONEY, **kw: Any) -> str:
        full = f"demo-{key}"
        self.commands.append(DemoCommand(method, kw, full, phase, lane or full))
        return full

    def number(self, prefix: str, year: int) -> str:
        """A document number like PP-2023-000123, counted per prefix and year."""
        n = self._numbers[prefix, year] = self._numbers.get((prefix, year), 0) + 1
        return f"{prefix}-{year}-{n:06d}"

    def day(self, year: int, first_month: int, last_month: int) -> dt.date:
        return dt.date(year, self.rng.randint(first_month, last_month), self.rng.randint(1, 28))

    def between(self, start: dt.date, end: dt.date) -> dt.date:
        span = (end - start).days
        return start + dt.timedelta(days=self.rng.randint(min(7, span), span))


def _register(b: _Builder, hubs: list[d.School]) -> None:
    for code, name in d.PROGRAMMES:
        b.add("register_programme", f"programme-{code}", phase=REGISTRY, code=code, name=name)
    for code, name in d.DONORS:
        b.add("register_donor", f"donor-{code}", phase=REGISTRY, code=code, name=name)
    for phase, schools in ((HUBS, hubs), (SMALL_SCHOOLS, d.small_schools(hubs))):
        for s in schools:
            b.add(
                "register_school", f"school-{s.code}", phase=phase, code=s.code, name=s.name,
                school_type="small" if s.hub else "hub", region=s.region,
                district=s.district, hub=s.hub,
            )  # fmt: skip


def _grant(b: _Builder, h: d.School, mistakes: set[str]) -> None:
    """Commitment, tranches and spending of one hub school: one lane, dated in order."""
    signed = b.day(h.cohort, 2, 11)
    commit = b.add(
        "commit_grant", f"commit-{h.code}", h.code, donor=d.FUND, school=h.code,
        programme=d.PROGRAMME, amount=d.GRANT_PER_HUB, currency=KZT, value_date=signed,
        reference=b.number("QH-GA", h.cohort),
    )  # fmt: skip
    dates = [signed + dt.timedelta(days=b.rng.randint(20, 60))]
    dates += [b.day(h.cohort + n, 2, 5) for n in (1, 2)]
    for t, (share, paid) in enumerate(zip(d.TRANCHES, dates, strict=True), start=1):
        if paid > d.AS_OF:
            break  # later cohorts are paid only as far as the dataset's today
        amount = d.GRANT_PER_HUB * share // 100
        order = b.number("PP", paid.year)
        pay: dict[str, Any] = dict(grant_ref=commit, amount=amount, currency=KZT, value_date=paid)
        b.add("disburse", f"disburse-{h.code}-t{t}", h.code, payment_reference=order, **pay)
        if t == 1 and f"duplicate:{h.code}" in mistakes:
            # One payment order keyed in twice by a second officer, then reversed.
            dup = b.add("disburse", f"disburse-{h.code}-t1-dup", h.code, **pay,
                        payment_reference=order)  # fmt: skip
            b.add(
                "reverse_entry", f"reverse-{h.code}-t1-dup", h.code, entry_ref=dup,
                value_date=paid + dt.timedelta(days=3),
                reason=f"Payment order {order} was entered twice; the bank statement "
                "shows one payment",
            )  # fmt: skip
        end = dates[t] - dt.timedelta(days=1) if t < len(dates) else d.AS_OF
        _spend(b, h, t, paid + dt.timedelta(days=3), min(end, d.AS_OF), amount, mistakes)


def _spend(
    b: _Builder, h: d.School, t: int, start: dt.date, end: dt.date, budget: int, mistakes: set[str]
) -> None:
    """Spend 70-97% of a tranche before the next arrives: never more than was received."""
    if start > end:
        return  # the tranche arrived at the dataset's end: nothing spent from it yet
    weights = [b.rng.randint(1, 10) for _ in range(b.rng.randint(2, 4))]
    total = budget * b.rng.randint(70, 97) // 100
    # Whole tenge, rounded down, so the parts never sum past the total.
    amounts = [total * w // sum(weights) // d.TIYN * d.TIYN for w in weights]
    days = sorted(b.between(start, end) for _ in weights)
    pool = [c for c, weight, _ in d.EXPENDITURES for _ in range(weight)]
    for n, (amount, day) in enumerate(zip(amounts, days, strict=True), start=1):
        category = b.rng.choice(pool)
        items = next(items for c, _, items in d.EXPENDITURES if c == category)
        invoice = b.number("INV", day.year)
        spend: dict[str, Any] = dict(
            school=h.code, amount=amount, currency=KZT, value_date=day, reference=invoice,
            description=b.rng.choice(items),
        )  # fmt: skip
        key = f"spend-{h.code}-t{t}-{n}"
        if n == 1 and t == 1 and f"category:{h.code}" in mistakes:
            # Booked to the wrong category, reversed, then booked again correctly.
            wrong = "furniture" if category != "furniture" else "equipment"
            bad = b.add("record_expenditure", f"{key}-wrong", h.code, category=wrong, **spend)
            b.add(
                "reverse_entry", f"reverse-{key}-wrong", h.code, entry_ref=bad, value_date=day,
                reason=f"Invoice {invoice} is {category}, booked to {wrong} in error; rebooked",
            )  # fmt: skip
        b.add("record_expenditure", key, h.code, category=category, **spend)


def _operating_cost(b: _Builder, key: str, category: str, kzt: int, on: dt.date, **kw: Any) -> str:
    return b.add(
        "cover_operating_cost", f"ops-{key}", d.AITAS, donor=d.AITAS, amount=kzt * d.TIYN,
        currency=KZT, category=category, value_date=on, reference=b.number("AIT", on.year), **kw,
    )  # fmt: skip


def _operating_costs(b: _Builder) -> None:
    """AITAS pays the operator's running costs: salaries monthly, the rest quarterly."""
    month = d.OPERATING_START
    while month <= d.AS_OF:
        for category, base, every, what in d.OPERATING_COSTS:
            if month.month % every == 0:
                grown = base * (100 + d.OPERATING_GROWTH_PCT * (month.year - 2022)) // 100
                kzt = grown * b.rng.randint(95, 105) // 100
                text = {"programme": d.PROGRAMME, "description": f"{what}, {month:%B %Y}"}
                key = f"{month:%Y-%m}-{category}"
                _operating_cost(b, key, category, kzt, month.replace(day=25), **text)
                if key == "2024-03-salaries":
                    # The same payroll entered twice; the second entry is reversed.
                    dup = _operating_cost(b, f"{key}-dup", category, kzt, month.replace(day=25),
                                          **text)  # fmt: skip
                    b.add("reverse_entry", f"reverse-ops-{key}-dup", d.AITAS, entry_ref=dup,
                          value_date=month.replace(day=28),
                          reason="One payroll payment order recorded twice")  # fmt: skip
        month = (month + dt.timedelta(days=31)).replace(day=1)
    for year in d.AKTOBE_SUPPORT:
        for q in range(1, 5):
            _operating_cost(
                b, f"aktobe-{year}-q{q}", "monitoring", 2_400_000, dt.date(year, q * 3, 20),
                programme=d.AKTOBE_PROGRAMME,
                description=f"Monitoring visits to Aktobe small schools, Q{q} {year}",
            )  # fmt: skip


def _training(teachers: int, courses: int, rate: int = d.TEACHER_HOUR_RATE_KZT) -> dict[str, Any]:
    """An NIS course valued at its cost: teacher-hours times the NIS rate per hour."""
    hours = teachers * courses * d.COURSE_HOURS
    return {
        "donor": d.NIS, "kind": d.TRAINING_KIND, "fair_value": hours * rate * d.TIYN,
        "currency": KZT,
        "valuation_basis": f"NIS cost rate of {rate:,} KZT per teacher-hour x {hours:,} "
        f"teacher-hours ({teachers} teachers, {courses} course(s) of {d.COURSE_HOURS} hours)",
        "quantities": {"teachers_trained": teachers, "hours": hours, "courses": courses},
    }  # fmt: skip


def _in_kind(b: _Builder, hubs: list[d.School]) -> None:
    """NIS trains each hub school's teachers every summer from its cohort year on."""
    misvalued = f"inkind-{hubs[-1].code}-{d.AS_OF.year}"
    for h in hubs:
        for year in range(h.cohort, d.AS_OF.year + 1):
            course = _training(b.rng.randint(12, 45), b.rng.randint(1, 3))
            where: dict[str, Any] = dict(
                school=h.code, programme=None, value_date=b.day(year, 6, 8)
            )
            key = f"inkind-{h.code}-{year}"
            if key == misvalued:
                q = course["quantities"]
                wrong = _training(q["teachers_trained"], q["courses"], d.TEACHER_HOUR_RATE_KZT * 10)
                bad = b.add("contribute_in_kind", f"{key}-misvalued", d.NIS, **wrong, **where)
                b.add("reverse_entry", f"reverse-{key}-misvalued", d.NIS, entry_ref=bad,
                      value_date=where["value_date"],
                      reason="Fair value keyed at ten times the NIS cost rate")  # fmt: skip
            b.add("contribute_in_kind", key, d.NIS, **course, **where)
    for year, teachers in d.AKTOBE_SUPPORT.items():
        # Programme-level methodological support for the Aktobe small schools' teachers.
        course = _training(teachers, 1)
        course["quantities"]["schools_reached"] = d.AKTOBE_SMALL_SCHOOLS
        b.add("contribute_in_kind", f"inkind-aktobe-{year}", d.NIS, **course, school=None,
              programme=d.AKTOBE_PROGRAMME, value_date=dt.date(year, 8, 15))  # fmt: skip


def demo_commands(seed: int = 2025) -> list[DemoCommand]:
    """The whole dataset, in an order that is also valid when run one by one."""
    b = _Builder(seed)
    hubs = d.hub_schools(b.rng)
    _register(b, hubs)
    # A few mistakes to correct by reversal, at early-cohort schools of different regions.
    early = sorted({h.region: h for h in hubs if h.cohort <= 2023}.values(), key=lambda h: h.code)
    mistakes = {f"duplicate:{h.code}" for h in early[:2]}
    mistakes |= {f"category:{h.code}" for h in early[2:4]}
    for h in hubs:
        _grant(b, h, mistakes)
    _operating_costs(b)
    _in_kind(b, hubs)
    # Money in value-date order reads like the programme's history. The sort is stable
    # and no command is dated before one it depends on, so dependencies keep their order.
    return sorted(b.commands, key=lambda c: (c.phase, c.kwargs.get("value_date", d.AS_OF)))


def _resolve(kwargs: dict[str, Any], done: dict[str, Recorded]) -> dict[str, Any]:
    resolved = dict(kwargs)
    for ref, name in REFS.items():
        if ref in resolved:
            resolved[name] = UUID(done[resolved.pop(ref)].response[name])
    return resolved


def _lanes(commands: list[DemoCommand], phase: int) -> Iterator[list[DemoCommand]]:
    lanes: dict[str, list[DemoCommand]] = {}
    for c in commands:
        if c.phase == phase:
            lanes.setdefault(c.lane, []).append(c)
    # Longest first: the donors' single-aggregate lanes are the critical path.
    yield from sorted(lanes.values(), key=len, reverse=True)


def load_demo(
    app: LedgerApplication,
    *,
    actor: str = "demo-loader",
    progress: Callable[[int], None] | None = None,
    threads: int = 8,
) -> DemoSummary:
    """Record the dataset; lanes run on a thread pool so the app group-commits them.

    ``progress`` is called from the pool's threads. Loading under another ``actor``
    than before is refused: the registrations exist, but its keys are new.
    """
    commands = demo_commands()
    # Each key is written once, by its lane's thread, and read only later by the same
    # lane or by a later phase: no two threads touch one key at the same time.
    done: dict[str, Recorded] = {}

    def run(lane: list[DemoCommand]) -> None:
        for c in lane:
            method: Callable[..., Recorded] = getattr(app, c.method)
            try:
                done[c.key] = method(Context(actor, c.key), **_resolve(c.kwargs, done))
            except Exception as e:
                e.add_note(f"while loading demo command {c.key} ({c.method})")
                raise
            if progress is not None:
                progress(1)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="demo-load") as pool:
        for phase in sorted({c.phase for c in commands}):
            for future in [pool.submit(run, lane) for lane in _lanes(commands, phase)]:
                future.result()  # the first failure stops the load before the next phase
    return DemoSummary(
        commands=len(done),
        replayed=sum(r.replayed for r in done.values()),
        last_position=max(r.position for r in done.values()),
    )
