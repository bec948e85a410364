"""Records the expiry of pending disbursements past their deadline, releasing their reservation.

Approval is refused after the deadline even before the sweeper runs (the grant
checks it); the sweeper makes the release a fact in the log. It finds its work in
the pending read model and records each expiry as a command with a key derived
from the entry id, so sweepers in several processes record each expiry once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from uuid import UUID

from ledger.application.app import LedgerApplication
from ledger.domain.errors import DomainError
from projections.pending import overdue
from projections.store import ReadStore, active_generation
from projections.tables import tables_for

log = logging.getLogger("projections.sweeper")


def sweep_once(
    ledger: LedgerApplication, store: ReadStore, now: dt.datetime | None = None
) -> list[str]:
    """Expire every overdue pending disbursement the read models know of; returns their ids."""
    moment = now or dt.datetime.now(dt.UTC)
    with store.engine.connect() as conn:
        due = overdue(conn, tables_for(active_generation(conn)), moment)
    expired = []
    for entry_id in due:
        try:
            ledger.expire_disbursement(UUID(entry_id), now=moment)
        except DomainError as e:
            # Approved or rejected meanwhile (the read side had not caught up): fine.
            log.info("not expired: %s (%s)", entry_id, e.detail)
            continue
        expired.append(entry_id)
    return expired


class ExpirySweeper:
    def __init__(
        self, ledger: LedgerApplication, store: ReadStore, interval_seconds: float = 60.0
    ) -> None:
        self.ledger = ledger
        self.store = store
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
                sweep_once(self.ledger, self.store)
            except Exception:
                # A transient store error must not end the sweeping; next round retries.
                log.exception("expiry sweep failed")
