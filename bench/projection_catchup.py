"""Part 1: reading the log raw, raw + decode, and through a fresh projection generation;
the read models checked against the log."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql
from sqlalchemy import Connection, func, select, text, update
from sqlalchemy import event as sa_event

from bench.harness.core import Alarms
from bench.projection_seed import ENTRY_TOPICS
from ledger.application.app import LedgerApplication
from projections.runner import ProjectionRunner
from projections.store import (
    ReadStore,
    active_generation,
    create_generation,
    create_indexes,
    drop_generation,
    tracked_position,
)
from projections.tables import Tables, active, tables_for


@dataclass
class ReadPass:
    name: str
    events: int
    seconds: float
    rate: float
    detail: dict[str, Any] = field(default_factory=dict)


def raw_pass(app: LedgerApplication, head: int, batch: int, decode: bool, name: str) -> ReadPass:
    """Page over the log with the library's recorder, as the runner does (optionally decode)."""
    recorder, mapper = app.recorder, app.mapper
    n = 0
    start = 1
    began = time.perf_counter()
    while True:
        notes = recorder.select_notifications(start, limit=batch, stop=head)
        if not notes:
            break
        if decode:
            for note in notes:
                mapper.to_domain_event(note)
        n += len(notes)
        start = notes[-1].id + 1
    seconds = time.perf_counter() - began
    return ReadPass(name, n, round(seconds, 3), n / seconds)


def fresh_catch_up(runner: ProjectionRunner, head: int) -> tuple[ReadPass, int]:
    """Replay the whole log into a new generation, then make it the live one.

    What ``projections.rebuild.rebuild`` does, without its drop grace period, and
    timed per batch so a slowdown as the tables grow shows up.
    """
    store = runner.store
    with store.engine.begin() as conn:
        old = active_generation(conn)
        new = old + 1
        create_generation(conn, new, indexes=False)
    marks: list[tuple[int, float]] = []
    applied = 0
    began = time.perf_counter()

    def progress(n: int) -> None:
        nonlocal applied
        applied += n
        marks.append((applied, time.perf_counter() - began))

    # Statements the runner sends through the read store (the log is read through the
    # recorder's own connection: one SELECT per batch, not counted here). An
    # executemany counts once: psycopg pipelines its rows.
    statements: Counter[str] = Counter()

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        statements[statement.split(None, 1)[0].upper()] += 1

    sa_event.listen(store.engine, "before_cursor_execute", count)
    try:
        total = runner.catch_up(generation=new, until=head, progress=progress)
        # As a rebuild does: the secondary indexes once the rows are in.
        with store.engine.begin() as conn:
            create_indexes(conn, new)
        seconds = time.perf_counter() - began
    finally:
        sa_event.remove(store.engine, "before_cursor_execute", count)
    with store.engine.begin() as conn:
        conn.execute(update(active).values(generation=new))
        drop_generation(conn, old)
    # Rate over each tenth of the log: does applying get slower as the tables grow?
    tenths: list[float] = []
    previous = (0, 0.0)
    for k in range(1, 11):
        goal = total * k / 10
        mark = next((m for m in marks if m[0] >= goal), marks[-1] if marks else (0, 0.0))
        span = mark[1] - previous[1]
        tenths.append(round((mark[0] - previous[0]) / span, 1) if span > 0 else 0.0)
        previous = mark
    figure = ReadPass(
        "projection catch-up (fresh generation)",
        total,
        round(seconds, 3),
        total / seconds,
        {
            "generation": new,
            "batches": len(marks),
            "events_per_s_by_tenth": tenths,
            "statements": dict(statements),
            "statements_per_batch": {
                k: round(v / max(1, len(marks)), 1) for k, v in statements.items()
            },
        },
    )
    return figure, new


# -- checks: the read models against the log ----------------------------------------


def log_counts(app: LedgerApplication) -> dict[str, int]:
    """Entry-bearing events in the log, by read-model kind (one SQL count)."""
    recorder: Any = app.recorder
    table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)
    cases = sql.SQL(", ").join(
        sql.SQL("count(*) FILTER (WHERE topic LIKE {}) AS {}").format(
            sql.Literal(f"%:{topic}"), sql.Identifier(f"c{i}")
        )
        for i, topic in enumerate(ENTRY_TOPICS)
    )
    statement = sql.SQL("SELECT {} FROM {}").format(cases, table)
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(statement)
        row = curs.fetchone()
    values = list(row.values()) if isinstance(row, dict) else list(row)
    return {kind: int(v) for kind, v in zip(ENTRY_TOPICS.values(), values, strict=True)}


def model_counts(conn: Connection, t: Tables) -> dict[str, int]:
    e = t.entries
    rows = conn.execute(select(e.c.kind, func.count()).group_by(e.c.kind)).all()
    found = {str(k): int(n) for k, n in rows}
    return {kind: found.get(kind, 0) for kind in ENTRY_TOPICS.values()}


def check_read_models(
    app: LedgerApplication, store: ReadStore, alarms: Alarms, when: str
) -> dict[str, Any]:
    """Cheap consistency checks: entry counts equal the log's, balances equal postings."""
    head = app.log_head()
    with store.engine.begin() as conn:
        t = tables_for(active_generation(conn))
        position = tracked_position(conn, t)
        model = model_counts(conn, t)
        nets = {
            str(c): int(s)
            for c, s in conn.execute(
                select(t.balances.c.currency, func.sum(t.balances.c.balance)).group_by(
                    t.balances.c.currency
                )
            ).all()
        }
        mismatched = conn.execute(
            text(
                f"SELECT count(*) FROM (SELECT account, currency, sum(amount) AS s "
                f"FROM {t.postings.name} GROUP BY account, currency) p "
                f"FULL JOIN {t.balances.name} b USING (account, currency) "
                "WHERE p.s IS DISTINCT FROM b.balance"
            )
        ).scalar_one()
        postings = conn.execute(select(func.count()).select_from(t.postings)).scalar_one()
        accounts = conn.execute(select(func.count()).select_from(t.balances)).scalar_one()
        # Every batch rewrites the balance rows it touches: dead versions pile up in a
        # small table until (auto)vacuum, and a scan of it reads them all.
        balances_bytes, postings_bytes = conn.execute(
            text(
                "SELECT pg_relation_size(CAST(:b AS regclass)), "
                "pg_relation_size(CAST(:p AS regclass))"
            ),
            {"b": t.balances.name, "p": t.postings.name},
        ).one()
    in_log = log_counts(app)
    if position != head:
        alarms.raise_(f"{when}: read models at position {position}, log head {head}")
    if model != in_log:
        alarms.raise_(f"{when}: read-model entries {model} differ from the log's {in_log}")
    if any(nets.values()):
        alarms.raise_(f"{when}: trial balance does not net to zero: {nets}")
    if mismatched:
        alarms.raise_(f"{when}: {mismatched} running balances differ from their postings' sum")
    return {
        "log_head": head,
        "position": position,
        "entries": model,
        "entries_in_log": in_log,
        "postings": int(postings),
        "accounts": int(accounts),
        "balances_table_kb": int(balances_bytes) // 1024,
        "postings_table_kb": int(postings_bytes) // 1024,
        "balances_mismatched": int(mismatched),
        "net_by_currency": nets,
    }


def analyze(store: ReadStore) -> None:
    """Fresh statistics on the live tables, as autovacuum would have taken by now."""
    with store.engine.begin() as conn:
        t = tables_for(active_generation(conn))
        for table in t.all():
            conn.execute(text(f"ANALYZE {table.name}"))


# -- part 2: balance queries --------------------------------------------------------
