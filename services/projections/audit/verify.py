"""Recompute the hash chain from the raw stored events and say where history differs.

The raw log is the evidence; the audit table holds the chain values computed when each
event first arrived. Walking both in position order finds the first event that was
changed (hash differs), removed (a chained position is missing from the log) or slipped
in (a stored position the chain never saw). An auditor's digest, kept outside the
system, also catches a rewrite of the audit table itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from projections.audit import tables as at
from projections.audit.chain import ALGORITHM, GENESIS, link
from projections.log import EventLog

PAGE = 1000


@dataclass(frozen=True)
class Digest:
    position: int
    hash: str
    events: int | None = None  # how many events the digest said the chain covered


@dataclass
class Difference:
    position: int
    detail: str


@dataclass
class Report:
    ok: bool = True
    algorithm: str = ALGORITHM
    events_checked: int = 0
    checked_through: int = 0
    head: Digest = field(default_factory=lambda: Digest(0, GENESIS.hex()))
    first_difference: Difference | None = None
    digest_matches: bool | None = None
    notes: list[str] = field(default_factory=list)


def _chained(engine: Engine, until: int | None) -> Iterator[tuple[int, str]]:
    after = 0
    while True:
        stmt = select(at.events.c.position, at.events.c.hash).where(at.events.c.position > after)
        if until is not None:
            stmt = stmt.where(at.events.c.position <= until)
        with engine.connect() as conn:
            rows = conn.execute(stmt.order_by(at.events.c.position).limit(PAGE)).all()
        if not rows:
            return
        for position, value in rows:
            yield int(position), str(value)
        after = int(rows[-1][0])


def _difference(position: int, value: str, chained: tuple[int, str] | None) -> Difference | None:
    """Compare a recomputed link with the chain value stored when the event arrived."""
    if chained is None:
        return None  # beyond the chained head: not yet in the audit model
    if chained[0] > position:
        return Difference(position, "stored event was never chained (inserted afterwards)")
    if chained[1] != value:
        return Difference(position, "stored event differs from when it was recorded")
    return None


def verify_chain(
    log: EventLog,
    engine: Engine,
    digest: Digest | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    report = Report()
    until = digest.position if digest is not None else None
    chained = _chained(engine, until)
    pending = next(chained, None)
    found: list[Difference] = []
    previous = GENESIS
    start = 1
    while notes := log.select(start, PAGE, until):
        for note in notes:
            # Chained positions before this stored one are missing from the log.
            if pending is not None and pending[0] < note.id:
                found.append(Difference(pending[0], "event is missing from the stored log"))
                while pending is not None and pending[0] < note.id:
                    pending = next(chained, None)
            previous = link(previous, note)
            report.events_checked += 1
            report.head = Digest(note.id, previous.hex())
            if (diff := _difference(note.id, report.head.hash, pending)) is not None:
                found.append(diff)
            if pending is not None and pending[0] == note.id:
                pending = next(chained, None)
        start = notes[-1].id + 1
        if progress is not None:
            progress(len(notes))
    if pending is not None:
        found.append(Difference(pending[0], "event is missing from the stored log"))
    report.first_difference = min(found, key=lambda d: d.position) if found else None
    report.checked_through = report.head.position
    if digest is not None:
        head = report.head
        report.digest_matches = (head.position, head.hash) == (digest.position, digest.hash)
        if not report.digest_matches:
            report.notes.append(
                f"recomputed chain at position {head.position} is {head.hash}; "
                f"the digest says position {digest.position} is {digest.hash}"
            )
        if digest.events is not None and digest.events != report.events_checked:
            report.digest_matches = False
            report.notes.append(
                f"the digest counts {digest.events} events through position "
                f"{digest.position}; the stored log holds {report.events_checked}"
            )
    report.ok = report.first_difference is None and report.digest_matches is not False
    return report
