"""Helpers that line commands up in one sequencer round, in a chosen order."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ledger.application.app import LedgerApplication
from ledger.application.command import Command
from ledger.application.core import LedgerCore
from ledger.application.results import Registered
from ledger.application.unit_of_work import Context, UnitOfWork
from ledger.domain.errors import DomainError

Outcome = tuple[str, Any]
# Differ between two runs by construction: the moment, and a digest over random ids.
IGNORED = {"timestamp", "fingerprint"}


def outcome(call: Callable[[], Any]) -> Outcome:
    """An answer as data: ``("ok", response)`` or ``("refused", error class name)``."""
    try:
        return ("ok", call().response)
    except DomainError as e:
        return ("refused", type(e).__name__)


@contextmanager
def one_round(app: LedgerApplication) -> Iterator[Callable[[Callable[[], Any]], None]]:
    """Hold the sequencer busy, queue the given calls in order, then let them go.

    The holder is itself a command (it records only its claim), decided first; the
    calls queued meanwhile are decided in the next round, in the order queued.
    """
    release, holding = threading.Event(), threading.Event()
    threads: list[threading.Thread] = []

    @dataclasses.dataclass(frozen=True)
    class Hold(Command):
        command_name = "hold"
        result_type = Registered

        def decide(self, app: LedgerCore, uow: UnitOfWork) -> Registered:
            holding.set()
            assert release.wait(timeout=30)
            return Registered(code="holder")

    key = f"hold-{uuid.uuid4().hex}"
    holder = threading.Thread(target=lambda: app._run_command(Context("holder", key), Hold()))
    holder.start()
    assert holding.wait(timeout=30)
    queue = app.sequencer._queue

    def add(call: Callable[[], Any]) -> None:
        before = queue.qsize()
        t = threading.Thread(target=call)
        t.start()
        threads.append(t)
        deadline = time.monotonic() + 10
        while queue.qsize() == before and time.monotonic() < deadline:
            time.sleep(0.0005)
        assert queue.qsize() > before, "the call never reached the sequencer"

    try:
        yield add
    finally:
        release.set()
        holder.join(timeout=30)
        for t in threads:
            t.join(timeout=60)


def normalised(app: LedgerApplication, *extra: Any) -> tuple[list[Any], list[Any]]:
    """The stored log, and ``extra`` answers, with ids named by first appearance.

    Two runs that decide the same commands in the same order mint different random
    ids; naming each id by where it first appears makes the runs comparable.
    """
    names: dict[str, str] = {}

    def norm(value: Any) -> Any:
        if isinstance(value, uuid.UUID):
            return names.setdefault(str(value), f"id{len(names)}")
        if isinstance(value, str):
            try:
                uuid.UUID(value)
            except ValueError:
                return value
            return names.setdefault(value, f"id{len(names)}")
        if isinstance(value, dict):
            return {k: norm(v) for k, v in sorted(value.items()) if k not in IGNORED}
        if isinstance(value, (list, tuple)):
            return [norm(v) for v in value]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return norm(dataclasses.asdict(value))
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        return value

    notifications = app.recorder.select_notifications(start=1, limit=10**6)
    log = []
    for n in notifications:
        event = app.mapper.to_domain_event(n)
        if n.topic.endswith("IdempotencyClaim.Claimed") and "holder" in str(event.__dict__):
            continue  # the helper's own claim: not part of the commands compared
        log.append((type(event).__qualname__, norm(dict(event.__dict__))))
    return log, [norm(x) for x in extra]
