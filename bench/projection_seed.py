"""The projection benchmark's logs: the small one every school starts with, then the volume."""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from bench.harness.server import ACTOR, DONOR
from bench.write_phases import (
    AMOUNT,
    COMMITMENT,
    VALUE_DATE_GRANT,
    VALUE_DATE_PAYMENT,
)
from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context

FLOAT = 10**10  # each school's first disbursement: cash for every expenditure after it
SPEND = 1_000  # tiyn per expenditure
CATEGORY = "supplies"  # one category, so the small log already has every account
VALUE_DATE_SPEND = dt.date(2024, 3, 1)
AS_OF = dt.date(2024, 12, 31)  # after every value date: the as-of answer equals the current one
EXPENDITURE_SHARE = 0.2  # of the volume commands; the rest are disbursements
EVENTS_PER_DISBURSEMENT = 4  # grant, school account, entry locator, idempotency claim
EVENTS_PER_EXPENDITURE = 3  # school account, entry locator, idempotency claim

# Entry-bearing event classes in the log -> the read model's entry kind.
ENTRY_TOPICS = {
    "Grant.Committed": "commitment",
    "Grant.Disbursed": "disbursement",
    "SchoolAccount.ExpenditureRecorded": "expenditure",
}


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b:
        return None
    return a / b


@dataclass
class Seeded:
    busy: list[str]  # school codes that take the volume
    quiet: list[str]  # school codes that take nothing after the small log
    grants: dict[str, str]  # school code -> grant id
    commands: Counter[str] = field(default_factory=Counter)

    @property
    def busy_grants(self) -> list[str]:
        return [self.grants[s] for s in self.busy]


class Keys:
    """Unique idempotency keys across threads."""

    def __init__(self, tag: str) -> None:
        self._tag = tag
        self._n = 0
        self._lock = threading.Lock()

    def ctx(self, what: str) -> Context:
        with self._lock:
            self._n += 1
            n = self._n
        return Context(ACTOR, f"{what}-{self._tag}-{n:08d}")


def run_pool(
    n_threads: int, items: list[Any], op: Callable[[Any], Any]
) -> tuple[list[Any], Counter[str]]:
    """Call ``op`` on every item from ``n_threads`` threads; results in item order."""
    results: list[Any] = [None] * len(items)
    failures: Counter[str] = Counter()
    lock = threading.Lock()
    cursor = iter(range(len(items)))

    def loop() -> None:
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            try:
                results[i] = op(items[i])
            except Exception as e:
                with lock:
                    failures[f"{type(e).__name__}: {str(e)[:120]}"] += 1

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, failures


def seed_small(
    app: LedgerApplication, keys: Keys, n_busy: int, n_quiet: int, threads: int
) -> tuple[Seeded, Counter[str]]:
    """The small log: every school registered, with a grant, its float and one expenditure.

    Each school already has all the accounts it will ever have (receivable, cash,
    spent:supplies), so between the small and the large log only history grows,
    not the chart of accounts.
    """
    app.register_donor(keys.ctx("donor"), code=DONOR, name="Benchmark donor")
    busy = [f"busy-{i:04d}" for i in range(n_busy)]
    quiet = [f"quiet-{i:04d}" for i in range(n_quiet)]
    codes = busy + quiet
    failures: Counter[str] = Counter()

    def school(code: str) -> None:
        app.register_school(
            keys.ctx("school"),
            code=code,
            name=f"Hub school {code}",
            school_type="hub",
            region="aktobe",
            district="Bench district",
        )

    def grant(code: str) -> str:
        recorded = app.commit_grant(
            keys.ctx("grant"),
            donor=DONOR,
            school=code,
            programme=None,
            amount=COMMITMENT,
            currency="KZT",
            value_date=VALUE_DATE_GRANT,
            reference=f"AGR-{code}",
        )
        return str(recorded.response["grant_id"])

    _, f1 = run_pool(threads, codes, school)
    grant_ids, f2 = run_pool(threads, codes, grant)
    grants = dict(zip(codes, grant_ids, strict=True))

    def float_(code: str) -> None:
        app.disburse(
            keys.ctx("float"),
            grant_id=uuid.UUID(grants[code]),
            amount=FLOAT,
            currency="KZT",
            value_date=VALUE_DATE_PAYMENT,
            payment_reference=f"FLOAT-{code}",
        )

    _, f3 = run_pool(threads, codes, float_)
    _, f4 = run_pool(threads, codes, lambda code: spend(app, keys, code, "first"))
    for f in (f1, f2, f3, f4):
        failures.update(f)
    seeded = Seeded(busy, quiet, grants)
    seeded.commands.update(
        {"register_donor": 1, "register_school": len(codes), "commit_grant": len(codes)}
    )
    seeded.commands.update({"disburse": len(codes), "record_expenditure": len(codes)})
    return seeded, failures


def spend(app: LedgerApplication, keys: Keys, code: str, ref: str) -> None:
    app.record_expenditure(
        keys.ctx("spend"),
        school=code,
        amount=SPEND,
        currency="KZT",
        category=CATEGORY,
        value_date=VALUE_DATE_SPEND,
        reference=f"INV-{ref}",
        description="bench",
    )


VOLUME_ROUNDS = 10


def seed_volume(
    app: LedgerApplication,
    keys: Keys,
    seeded: Seeded,
    target_events: int,
    threads: int,
    rng: random.Random,
) -> tuple[int, int, Counter[str]]:
    """Disbursements and expenditures on the busy schools until the log holds ~target.

    In rounds: a block of disbursements, then a block of expenditures. A disbursement
    locks (in-process) only its grant, yet also writes the school's account; run next
    to an expenditure on that school, one of the two loses on the account's version,
    and the group committer then re-commits its whole batch one command at a time.
    Mixed, the seeding ran at one command per transaction, several times slower.
    """
    missing = max(0, target_events - event_count(app))
    share = EXPENDITURE_SHARE
    per_command = (1 - share) * EVENTS_PER_DISBURSEMENT + share * EVENTS_PER_EXPENDITURE
    n_commands = round(missing / per_command)
    n_spend = round(n_commands * share)
    n_disb = n_commands - n_spend
    # Top up to the target with whole disbursements.
    missing_after = missing - n_disb * EVENTS_PER_DISBURSEMENT - n_spend * EVENTS_PER_EXPENDITURE
    n_disb += missing_after // EVENTS_PER_DISBURSEMENT
    failures: Counter[str] = Counter()

    def disburse(code: str) -> None:
        app.disburse(
            keys.ctx("disb"),
            grant_id=uuid.UUID(seeded.grants[code]),
            amount=AMOUNT,
            currency="KZT",
            value_date=VALUE_DATE_PAYMENT,
            payment_reference=f"PP-{code}",
        )

    for r in range(VOLUME_ROUNDS):
        d = n_disb * (r + 1) // VOLUME_ROUNDS - n_disb * r // VOLUME_ROUNDS
        e = n_spend * (r + 1) // VOLUME_ROUNDS - n_spend * r // VOLUME_ROUNDS
        _, f = run_pool(threads, [rng.choice(seeded.busy) for _ in range(d)], disburse)
        failures.update(f)
        schools = [rng.choice(seeded.busy) for _ in range(e)]
        _, f = run_pool(threads, schools, lambda code: spend(app, keys, code, code))
        failures.update(f)
    seeded.commands.update({"disburse": n_disb, "record_expenditure": n_spend})
    return n_disb, n_spend, failures


def event_count(app: LedgerApplication) -> int:
    """Events in the log. Not the head: a rolled-back insert leaves a gap in the ids."""
    recorder: Any = app.recorder
    table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(table))
        row = curs.fetchone()
    return int(row["n"])


# -- part 1: catch-up against the library's raw read --------------------------------
