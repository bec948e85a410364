"""Records the expiry of pending disbursements past their deadline, releasing their reservation.

Approval is refused after the deadline even before the sweeper runs (the grant
checks it); the sweeper makes the release a fact in the log. It is handed two
callables: where to find overdue requests (the pending read model) and how to
record one expiry (a write-side command keyed by the entry id, so sweepers in several
processes record each expiry once).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from uuid import UUID

from ledger.domain.errors import DomainError

log = logging.getLogger("server.sweeper")

Due = Callable[[dt.datetime], list[str]]
Expire = Callable[[UUID, dt.datetime], object]


def sweep_once(due: Due, expire: Expire, now: dt.datetime | None = None) -> list[str]:
    """Expire every overdue pending disbursement ``due`` names; returns their ids."""
    moment = now or dt.datetime.now(dt.UTC)
    expired = []
    for entry_id in due(moment):
        try:
            expire(UUID(entry_id), moment)
        except DomainError as e:
            # Approved or rejected meanwhile (the read side had not caught up): fine.
            log.info("not expired: %s (%s)", entry_id, e.detail)
            continue
        expired.append(entry_id)
    return expired


class ExpirySweeper:
    def __init__(self, due: Due, expire: Expire, interval_seconds: float = 60.0) -> None:
        self.due = due
        self.expire = expire
        self.interval_seconds = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="expiry-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                sweep_once(self.due, self.expire)
            except Exception:
                # A transient store error must not end the sweeping; next round retries.
                log.exception("expiry sweep failed")
