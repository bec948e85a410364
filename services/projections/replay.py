"""Balances at a point in history, folded straight from the raw log.

Deliberately a second, tiny implementation: it sums the legs every financial event
carries and shares no code with the read models, so agreement between the two is
evidence, not an echo.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from contracts.balances import TrialBalance
from ledger.domain.money import Leg
from projections.figures import trial_balance_of
from projections.log import EventLog

PAGE = 5000


def replay_balances(
    log: EventLog,
    *,
    until_position: int | None = None,
    until_time: dt.datetime | None = None,
    as_of: dt.date | None = None,
) -> TrialBalance:
    """Every non-zero account balance after the events up to a position and/or a moment.

    ``until_time`` keeps events *recorded* at or before it, like the read endpoints'
    ``known_at``: what the ledger showed then. ``as_of`` keeps entries *dated* on or
    before it (their value date), like ``as_of``: what was true on that day. Both
    together: what the ledger showed then about that day.
    """
    sums: dict[tuple[str, str], int] = defaultdict(int)
    # A stored topic names one event class, and whether it carries legs is a matter of
    # its class (a declared field): learnt from the first event of each topic, the
    # others of a legless class need no decoding (two in three events are claims,
    # locators and openings). With a time cut every event's timestamp counts, so then
    # each is decoded.
    legless: set[str] = set()
    start, last = 1, 0
    while notes := log.select(start, PAGE, until_position):
        for note in notes:
            if until_time is None and note.topic in legless:
                last = note.id
                continue
            event = log.decode(note)
            if until_time is not None and event.timestamp > until_time:
                continue
            value_date = getattr(event, "value_date", None)
            if as_of is not None and value_date is not None and value_date > as_of:
                continue
            last = note.id
            if "legs" not in getattr(type(event), "__dataclass_fields__", {"legs": None}):
                legless.add(note.topic)
                continue
            for leg in getattr(event, "legs", ()):
                if isinstance(leg, Leg):
                    sums[leg.account, leg.currency] += leg.amount
        start = notes[-1].id + 1
    rows = [(a, c, b) for (a, c), b in sorted(sums.items()) if b]
    return trial_balance_of(rows, last, as_of=as_of, known_at=until_time)
