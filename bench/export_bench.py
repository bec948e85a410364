"""Export benchmark: journal export throughput and peak memory at 1x and 3x the demo data.

The demo dataset is loaded once and projected; the read models are then scaled up by
copying every entry and posting under new ids and later positions (the journal export
reads only those two tables, so the copies are what a 3x longer history looks like to
it). Each size is exported twice: once untraced for throughput (entries/s, MB/s), once
under tracemalloc for the peak of Python allocations. A streamed export's peak should
stay flat as history grows; the "buffered" line (joining the whole export in memory,
what a non-streaming implementation holds) grows with it, for comparison.

    .venv/bin/python bench/export_bench.py                      # SQLite
    .venv/bin/python bench/export_bench.py --postgres postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

if not __package__:  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness.db import bench_settings, create_schemas, drop_schemas, schema_url
from projections.exports.journal import journal_csv, journal_text
from projections.exports.source import snapshot
from projections.queries import Cut
from projections.runner import ProjectionRunner
from projections.store import ReadStore, active_generation
from projections.tables import PROJECTION_NAME, tables_for
from server.bootstrap import build_ledger, build_read_store
from server.demo import load_demo


def setup(url: str) -> ReadStore:
    # The demo history was approved outside the system: a threshold above every
    # amount posts it at once, on the ledger as served (server.bootstrap).
    settings = bench_settings(url)
    app = build_ledger(settings)
    try:
        load_demo(app)
        store = build_read_store(settings)
        ProjectionRunner(app.event_log, store).catch_up()
    finally:
        app.close()
    return store


def scale(store: ReadStore, copies: int) -> None:
    """Append ``copies`` more copies of the original history (new ids, later positions)."""
    with store.engine.begin() as conn:
        t = tables_for(active_generation(conn))
        e, p = t.entries, t.postings
        head = int(conn.execute(select(func.max(e.c.position))).scalar_one())
        entries = [dict(r) for r in conn.execute(select(e).where(e.c.position <= head)).mappings()]
        postings = [dict(r) for r in conn.execute(select(p).where(p.c.position <= head)).mappings()]
        for k in range(1, copies + 1):
            offset = k * head
            ids = {
                x["entry_id"]: str(uuid.uuid5(uuid.NAMESPACE_URL, f"{k}:{x['entry_id']}"))
                for x in entries
            }
            conn.execute(insert(e), [
                {**x, "entry_id": ids[x["entry_id"]], "position": x["position"] + offset,
                 "reverses": ids.get(x["reverses"] or ""), "reversed_by": None,
                 "reversed_at_position": None}
                for x in entries
            ])  # fmt: skip
            conn.execute(insert(p), [
                {**{c: v for c, v in x.items() if c != "id"}, "entry_id": ids[x["entry_id"]],
                 "position": x["position"] + offset}
                for x in postings
            ])  # fmt: skip
        top = int(conn.execute(select(func.max(e.c.position))).scalar_one())
        conn.execute(
            update(t.tracking)
            .where(t.tracking.c.projection == PROJECTION_NAME)
            .values(position=top)
        )


async def consume(
    store: ReadStore, produce: Callable[..., Any], keep: bool
) -> tuple[int, int, int]:
    """(entries, bytes, position); ``keep`` holds every chunk like a buffered export."""
    try:
        return await _consume(store, produce, keep)
    finally:
        # Each measurement runs its own event loop: no pooled connection may outlive it.
        await store.async_engine.dispose()


async def _consume(
    store: ReadStore, produce: Callable[..., Any], keep: bool
) -> tuple[int, int, int]:
    kept: list[str] = []
    size = 0
    async with snapshot(store, 10**12, Cut()) as snap:
        async for chunk in produce(snap):
            size += len(chunk.encode())
            if keep:
                kept.append(chunk)
        entries = int(
            (
                await snap.conn.execute(
                    select(func.count()).select_from(snap.tables.entries)
                    .where(snap.tables.entries.c.position <= snap.at)
                )
            ).scalar_one()
        )  # fmt: skip
        whole = "".join(kept) if keep else ""
        del whole
        return entries, size, snap.at


def measure(store: ReadStore, produce: Callable[..., Any], label: str) -> None:
    started = time.perf_counter()
    entries, size, _ = asyncio.run(consume(store, produce, keep=False))
    seconds = time.perf_counter() - started
    peaks = []
    for keep in (False, True):
        tracemalloc.start()
        asyncio.run(consume(store, produce, keep=keep))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    print(
        f"{label:<22} entries={entries:>7} size={size / 1e6:7.2f} MB  "
        f"{entries / seconds:>9,.0f} entries/s  {size / 1e6 / seconds:6.2f} MB/s  "
        f"peak streamed={peaks[0] / 1e6:6.2f} MB  buffered={peaks[1] / 1e6:7.2f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="PostgreSQL URL (a fresh schema is made in it)")
    args = parser.parse_args()
    schema = None
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        create_schemas(args.postgres, [schema])
        url = schema_url(args.postgres, schema)
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='export-bench-'))}/ledger.sqlite3"
    print(f"store: {url.split('?')[0].split('://')[0]}")
    store = setup(url)
    try:
        for size, copies in (("1x", 0), ("3x", 2)):
            if copies:
                scale(store, copies)
            for name, produce in (("journal", journal_text), ("journal.csv", journal_csv)):
                measure(store, produce, f"{name} {size}")
    finally:
        store.close()
        if schema:
            drop_schemas(args.postgres, [schema])


if __name__ == "__main__":
    main()
