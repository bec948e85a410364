"""What the command-line tools share: opening the event store and the read store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.infrastructure.settings import Settings

if TYPE_CHECKING:
    from ledger.application.app import LedgerApplication
    from projections.store import ReadStore


def open_stores(settings: Settings) -> tuple[LedgerApplication, ReadStore]:
    """The application on the event store, and the read store beside it (schema ensured)."""
    # Imported here: `ledger --help` should not pay for the whole stack.
    from ledger.application.app import LedgerApplication
    from ledger.infrastructure.settings import eventsourcing_env
    from projections.store import ReadStore

    ledger = LedgerApplication(eventsourcing_env(settings.database_url, settings.pool_size))
    store = ReadStore.for_database(settings.projections_url or settings.database_url)
    store.ensure_schema()
    return ledger, store
