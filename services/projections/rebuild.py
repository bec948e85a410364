"""Rebuild the read models from the log, and verify the live ones against a replay."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, inspect, select, update

from projections.generations import replaying
from projections.runner import ProjectionRunner
from projections.store import (
    active_generation,
    create_generation,
    create_indexes,
    drop_generation,
    tracked_position,
)
from projections.tables import Tables, active, runs, tables_for

Progress = Callable[[int], None]

# Readers that looked up the old generation just before the flip finish their query.
DROP_GRACE_SECONDS = 1.0


def _next_generation(conn: Connection) -> int:
    names = inspect(conn).get_table_names()
    used = [int(n[2:].split("_", 1)[0]) for n in names if n.startswith("rm") and n[2:3].isdigit()]
    return max([active_generation(conn), *used]) + 1


def record_run(
    runner: ProjectionRunner, kind: str, started_seconds: float, differences: int
) -> None:
    """Keep the outcome where /metrics (and so the alerts) can read it."""
    row = {
        "kind": kind,
        "finished_at": dt.datetime.now(dt.UTC),
        "duration_ms": int((time.perf_counter() - started_seconds) * 1000),
        "ok": differences == 0,
        "differences": differences,
    }
    with runner.store.engine.begin() as conn:
        conn.execute(delete(runs).where(runs.c.kind == kind))
        conn.execute(insert(runs).values(**row))


def rebuild(runner: ProjectionRunner, progress: Progress | None = None) -> int:
    """Replay the whole log into fresh tables, then switch to them atomically.

    The service keeps answering from the old generation meanwhile; after the flip
    the in-process runner follows the new one from its own tracking position.
    """
    store = runner.store
    started = time.perf_counter()
    with replaying(store.engine, store.urls.schema):
        return _rebuild(runner, started, progress)


def fill_generation(
    runner: ProjectionRunner, generation: int, progress: Progress | None = None
) -> None:
    """Fill a generation made with ``indexes=False`` from the log, then index it: built
    once over the loaded rows rather than maintained row by row while loading."""
    runner.catch_up(generation=generation, progress=progress)
    with runner.store.engine.begin() as conn:
        create_indexes(conn, generation)


def _rebuild(runner: ProjectionRunner, started_seconds: float, progress: Progress | None) -> int:
    store = runner.store
    with store.engine.begin() as conn:
        new = _next_generation(conn)
        create_generation(conn, new, indexes=False)
    fill_generation(runner, new, progress)
    with store.engine.begin() as conn:
        old = active_generation(conn)
        conn.execute(update(active).values(generation=new))
    runner.catch_up(progress=progress)
    time.sleep(DROP_GRACE_SECONDS)
    with store.engine.begin() as conn:
        drop_generation(conn, old)
    runner.forget(old)
    record_run(runner, "rebuild", started_seconds, 0)
    return new


def _rows(conn: Connection, table: Table, skip: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    columns = [c for c in table.columns if c.name not in skip]
    return sorted(
        (tuple(row) for row in conn.execute(select(*columns)).all()),
        key=lambda r: tuple("" if v is None else str(v) for v in r),
    )


def _compare(name: str, live: list[tuple[Any, ...]], fresh: list[tuple[Any, ...]]) -> list[str]:
    if live == fresh:
        return []
    live_set, fresh_set = set(live), set(fresh)
    out = [
        f"{name}: live {row} is not in the replay" for row in sorted(live_set - fresh_set, key=str)
    ]
    out += [
        f"{name}: replay {row} is missing from live"
        for row in sorted(fresh_set - live_set, key=str)
    ]
    if not out:
        out.append(f"{name}: same rows, different multiplicities ({len(live)} vs {len(fresh)})")
    return out


def compare_generations(
    conn_live: Connection, conn_fresh: Connection, live: Tables, fresh: Tables
) -> list[str]:
    diffs: list[str] = []
    pairs: list[tuple[str, Table, Table, tuple[str, ...]]] = [
        ("tracking", live.tracking, fresh.tracking, ()),
        ("entries", live.entries, fresh.entries, ()),
        ("postings", live.postings, fresh.postings, ("id",)),
        ("balances", live.balances, fresh.balances, ()),
        ("schools", live.schools, fresh.schools, ()),
        ("donors", live.donors, fresh.donors, ()),
        ("programmes", live.programmes, fresh.programmes, ()),
        ("grants", live.grants, fresh.grants, ()),
        ("programme_balances", live.programme_balances, fresh.programme_balances, ()),
        ("pending", live.pending, fresh.pending, ()),
    ]
    for name, a, b, skip in pairs:
        diffs += _compare(name, _rows(conn_live, a, skip), _rows(conn_fresh, b, skip))
    return diffs


# How long verify lets the live read models reach the log head it saw at the start.
HEAD_WAIT_SECONDS = 10.0


def _wait_for_head(runner: ProjectionRunner, head: int, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        with runner.store.engine.connect() as conn:
            if tracked_position(conn, tables_for(active_generation(conn))) >= head:
                return
        time.sleep(0.1)


def verify(
    runner: ProjectionRunner,
    progress: Progress | None = None,
    *,
    head_wait_seconds: float = HEAD_WAIT_SECONDS,
) -> list[str]:
    """Every difference between the live read models and a from-scratch replay.

    The replay runs to the log head, not just to where the live models are: live models
    that stay behind the head (a projection batch failing on every try) are a difference,
    not a pass over the part they did apply.
    """
    started = time.perf_counter()
    head = runner.log.head()
    _wait_for_head(runner, head, head_wait_seconds)
    with replaying(runner.store.engine, runner.store.urls.schema):
        differences = _verify(runner, head, head_wait_seconds, progress)
    record_run(runner, "verify", started, len(differences))
    return differences


def _verify(
    runner: ProjectionRunner, head: int, head_wait_seconds: float, progress: Progress | None
) -> list[str]:
    store = runner.store
    with store.engine.begin() as conn:
        scratch = _next_generation(conn)
        # Compared by full scans and dropped after: never indexed.
        create_generation(conn, scratch, indexes=False)
    differences: list[str] = []
    try:
        with store.engine.connect() as opened:
            live_conn = opened.execution_options(
                **(
                    {"isolation_level": "REPEATABLE READ"}
                    if opened.dialect.name == "postgresql"
                    else {"sqlite_begin": "DEFERRED"}
                )
            )
            with live_conn.begin():
                # The first read fixes the snapshot: the live tables cannot move under us.
                live = tables_for(active_generation(live_conn))
                at = tracked_position(live_conn, live)
                if at < head:
                    differences.append(
                        f"tracking: the live read models are at position {at}, behind the "
                        f"log head {head} after {head_wait_seconds:g}s: the read side is stuck "
                        "or lagging (see /v1/projections/status and the server log)"
                    )
                runner.catch_up(generation=scratch, until=at, progress=progress)
                with store.engine.connect() as fresh_conn:
                    differences += compare_generations(
                        live_conn, fresh_conn, live, tables_for(scratch)
                    )
        if at < head:
            # The rest of the log, into the scratch tables: the event the live side
            # cannot apply fails here too, and is named.
            try:
                runner.catch_up(generation=scratch, until=head, progress=progress)
            except Exception as e:
                differences.append(f"replay: applying the log after {at} fails: {e!r:.500}")
    finally:
        with store.engine.begin() as conn:
            drop_generation(conn, scratch)
        runner.forget(scratch)
    return differences
