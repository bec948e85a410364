"""Assembles the ledger exactly as ``ledger serve`` runs it, for every entry point.

The HTTP app, each CLI command, the benchmarks and the tests build through here, so
they all run the same ledger: same approval policy, group-commit size, period
refresh, pools, read store and runners.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.application.app import LedgerApplication
from ledger.infrastructure.settings import Settings, eventsourcing_env

if TYPE_CHECKING:
    # Imported where built: a command that needs only the write application (``ledger
    # replay``) does not pay a quarter of a second for the read side, SQLAlchemy and metrics.
    from ledger.observability.metrics import Metrics
    from projections.runner import ProjectionRunner
    from projections.service import ReadSide
    from projections.store import ReadStore
    from server.sweeper import ExpirySweeper


def build_ledger(
    settings: Settings,
    *,
    approvals: bool = True,
    env: Mapping[str, str] | None = None,
    pool_size: int | None = None,
) -> LedgerApplication:
    """The write application on the configured event store.

    ``approvals=False`` posts every disbursement at once: only for loading history
    that was approved outside the system (the demo dataset) and for tests of the
    unguarded command set. ``env`` adds eventsourcing settings (schema steps).
    """
    application = LedgerApplication(
        {
            **eventsourcing_env(
                settings.database_url,
                pool_size or settings.pool_size,
                wait_seconds=settings.store_wait_seconds,
                recycle_seconds=settings.store_recycle_seconds,
            ),
            **(env or {}),
        },
        commit_batch_max=settings.commit_batch_max,
        approvals=settings.approval_policy() if approvals else None,
        period_refresh_seconds=settings.period_refresh_seconds,
        value_date_horizon_days=settings.value_date_horizon_days,
        zone=settings.timezone,
        commit_wait_seconds=settings.commit_wait_seconds,
        sequencer_cache_size=settings.sequencer_cache_size,
    )
    _bound_store_waits(application, settings.store_wait_seconds)
    return application


# The library retries every PostgreSQL call this many times (0.2 s apart) when it
# cannot get a connection; see _bound_store_waits.
LIBRARY_ATTEMPTS = 10


def _bound_store_waits(application: LedgerApplication, wait_seconds: float) -> None:
    """Each of the library's attempts waits a tenth of the pool wait, so one store call
    with the database down gives up after about ``wait_seconds`` + 2 s (not ten full
    waits: with a 1 s wait a write answered after 12 s), and the request gets its 503."""
    pool = getattr(getattr(application.recorder, "datastore", None), "pool", None)
    if pool is not None and hasattr(pool, "timeout"):
        pool.timeout = max(0.05, wait_seconds / LIBRARY_ATTEMPTS)


def build_read_store(settings: Settings, *, ensure_schema: bool = True) -> ReadStore:
    """The read store beside the events (or at ``projections_url``)."""
    from projections.store import ReadPool, ReadStore

    pool = ReadPool(
        size=settings.read_pool_size,
        overflow=settings.read_pool_overflow,
        wait_seconds=settings.store_wait_seconds,
        statement_seconds=settings.store_statement_seconds,
        recycle_seconds=settings.store_recycle_seconds,
    )
    store = ReadStore.for_database(settings.projections_url or settings.database_url, pool)
    if ensure_schema:
        store.ensure_schema()
    return store


@dataclass
class System:
    """Ledger, read store, read side and (when this process follows the log) the
    projection runner and the expiry sweeper, with the metrics they report to."""

    settings: Settings
    ledger: LedgerApplication
    store: ReadStore
    read_side: ReadSide
    metrics: Metrics
    runner: ProjectionRunner | None = None
    sweeper: ExpirySweeper | None = None
    owns_ledger: bool = True
    # Run by close(), before the stores close: listeners to detach, etc.
    on_close: list[Callable[[], None]] = field(default_factory=list)
    _started: bool = field(default=False, repr=False)

    def start(self) -> None:
        """Follow the log and sweep expiries in background threads (if configured)."""
        if self.runner is not None:
            self.runner.start()
        if self.sweeper is not None:
            self.sweeper.start()
        self._started = True

    def stop(self) -> None:
        if not self._started:
            return
        if self.sweeper is not None:
            self.sweeper.stop()
        if self.runner is not None:
            self.runner.stop()
        self._started = False

    def close(self) -> None:
        """Stop the threads, then close the read store and (if built here) the ledger."""
        self.stop()
        for hook in self.on_close:
            hook()
        if self.runner is not None and self.runner.wake in self.ledger.committer.listeners:
            self.ledger.committer.listeners.remove(self.runner.wake)
        self.store.close()
        if self.owns_ledger:
            self.ledger.close()


def build(
    settings: Settings,
    *,
    ledger: LedgerApplication | None = None,
    follow: bool | None = None,
    metrics: Metrics | None = None,
) -> System:
    """Everything ``ledger serve`` runs. ``follow`` (default: ``settings.run_projections``)
    adds the projection runner and the expiry sweeper; pass ``ledger`` to share one."""
    from ledger.observability.metrics import Metrics
    from projections.pending import overdue_in
    from projections.runner import ProjectionRunner
    from projections.service import ReadSide
    from server.sweeper import ExpirySweeper

    follow = settings.run_projections if follow is None else follow
    application = ledger or build_ledger(settings)
    store = build_read_store(settings)
    runner = ProjectionRunner(application.event_log, store) if follow else None
    sweeper = None
    if runner is not None:
        application.committer.listeners.append(runner.wake)
        sweeper = ExpirySweeper(
            lambda now: overdue_in(store, now),
            lambda entry_id, now: application.expire_disbursement(entry_id, now=now),
            settings.expiry_sweep_seconds,
        )
    read_side = ReadSide(
        application.event_log, store, runner, max_wait_seconds=settings.read_wait_seconds
    )
    return System(
        settings=settings,
        ledger=application,
        store=store,
        read_side=read_side,
        metrics=metrics or Metrics(),
        runner=runner,
        sweeper=sweeper,
        owns_ledger=ledger is None,
    )


def follower(settings: Settings) -> System:
    """Ledger, read store and a projection runner that is not started (CLI commands that
    catch up, rebuild, verify or export in the foreground)."""
    return build(settings, follow=True)
