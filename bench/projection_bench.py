"""Read-side benchmark: projection catch-up, balance queries and lag, against baselines.

One run, one PostgreSQL, one machine:

* catch-up: a fresh generation of read models replays a ~100,000-event log, next to
  the library's raw read of the same log (``select_notifications`` paging) and raw
  read + decode (``mapper.to_domain_event``);
* balance queries: p50/p99 at ~1,000 and at ~100,000 events, in-process (the query
  functions on ``ReadStore.async_engine``) and over HTTP (``ledger serve`` + wrk);
* lag: the embedded runner's lag (``GET /v1/projections/status``, every 100 ms) while
  wrk drives disbursements.

Absolute numbers on a shared 2-core box are noise; the ratios between figures taken in
the same run are the result. See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import linecache
import math
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from psycopg import sql
from sqlalchemy import Connection, func, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context
from ledger.infrastructure.settings import eventsourcing_env
from projections import queries
from projections.queries import Cut
from projections.runner import ProjectionRunner
from projections.store import (
    ReadStore,
    active_generation,
    active_tables,
    create_generation,
    drop_generation,
    tracked_position,
)
from projections.tables import Tables, active, tables_for

# Shared with the write benchmark: alarms, percentiles, schema housekeeping, the
# server's readiness probe and shutdown, and the disbursement wrk script with its
# unique Idempotency-Keys. Run as a script, bench/ itself is on sys.path.
if TYPE_CHECKING:
    from bench import write_bench as wb
else:
    import write_bench as wb

ROOT = wb.ROOT
RESULTS = wb.RESULTS
VENV_BIN = wb.VENV_BIN

ACTOR = wb.ACTOR
DONOR = wb.DONOR  # the server's readiness probe asks for this donor
COMMITMENT = wb.COMMITMENT
AMOUNT = wb.AMOUNT  # tiyn per disbursement, as the write benchmark's wrk script sends
FLOAT = 10**10  # each school's first disbursement: cash for every expenditure after it
SPEND = 1_000  # tiyn per expenditure
CATEGORY = "supplies"  # one category, so the small log already has every account
VALUE_DATE_GRANT = wb.VALUE_DATE_GRANT
VALUE_DATE_PAYMENT = wb.VALUE_DATE_PAYMENT
VALUE_DATE_SPEND = dt.date(2024, 3, 1)
AS_OF = dt.date(2024, 12, 31)  # after every value date: the as-of answer equals the current one
EXPENDITURE_SHARE = 0.2  # of the volume commands; the rest are disbursements
EVENTS_PER_DISBURSEMENT = 4  # grant, school account, entry locator, idempotency claim
EVENTS_PER_EXPENDITURE = 3  # school account, entry locator, idempotency claim

# Entry-bearing event classes in the log -> the read model's entry kind.
ENTRY_TOPICS = {
    "Grant.Committed": "commitment",
    "Grant.Disbursed": "disbursement",
    "SchoolAccount.ExpenditureRecorded": "expenditure",
}

log = wb.log
percentile_ms = wb.percentile_ms
fmt = wb.fmt


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b:
        return None
    return a / b


# -- seeding ------------------------------------------------------------------------


@dataclass
class Seeded:
    busy: list[str]  # school codes that take the volume
    quiet: list[str]  # school codes that take nothing after the small log
    grants: dict[str, str]  # school code -> grant id
    commands: Counter[str] = field(default_factory=Counter)

    @property
    def busy_grants(self) -> list[str]:
        return [self.grants[s] for s in self.busy]


class Keys:
    """Unique idempotency keys across threads."""

    def __init__(self, tag: str) -> None:
        self._tag = tag
        self._n = 0
        self._lock = threading.Lock()

    def ctx(self, what: str) -> Context:
        with self._lock:
            self._n += 1
            n = self._n
        return Context(ACTOR, f"{what}-{self._tag}-{n:08d}")


def run_pool(
    n_threads: int, items: list[Any], op: Callable[[Any], Any]
) -> tuple[list[Any], Counter[str]]:
    """Call ``op`` on every item from ``n_threads`` threads; results in item order."""
    results: list[Any] = [None] * len(items)
    failures: Counter[str] = Counter()
    lock = threading.Lock()
    cursor = iter(range(len(items)))

    def loop() -> None:
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            try:
                results[i] = op(items[i])
            except Exception as e:
                with lock:
                    failures[f"{type(e).__name__}: {str(e)[:120]}"] += 1

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, failures


def seed_small(
    app: LedgerApplication, keys: Keys, n_busy: int, n_quiet: int, threads: int
) -> tuple[Seeded, Counter[str]]:
    """The small log: every school registered, with a grant, its float and one expenditure.

    Each school already has all the accounts it will ever have (receivable, cash,
    spent:supplies), so between the small and the large log only history grows,
    not the chart of accounts.
    """
    app.register_donor(keys.ctx("donor"), code=DONOR, name="Benchmark donor")
    busy = [f"busy-{i:04d}" for i in range(n_busy)]
    quiet = [f"quiet-{i:04d}" for i in range(n_quiet)]
    codes = busy + quiet
    failures: Counter[str] = Counter()

    def school(code: str) -> None:
        app.register_school(
            keys.ctx("school"),
            code=code,
            name=f"Hub school {code}",
            school_type="hub",
            region="aktobe",
            district="Bench district",
        )

    def grant(code: str) -> str:
        recorded = app.commit_grant(
            keys.ctx("grant"),
            donor=DONOR,
            school=code,
            programme=None,
            amount=COMMITMENT,
            currency="KZT",
            value_date=VALUE_DATE_GRANT,
            reference=f"AGR-{code}",
        )
        return str(recorded.response["grant_id"])

    _, f1 = run_pool(threads, codes, school)
    grant_ids, f2 = run_pool(threads, codes, grant)
    grants = dict(zip(codes, grant_ids, strict=True))

    def float_(code: str) -> None:
        app.disburse(
            keys.ctx("float"),
            grant_id=uuid.UUID(grants[code]),
            amount=FLOAT,
            currency="KZT",
            value_date=VALUE_DATE_PAYMENT,
            payment_reference=f"FLOAT-{code}",
        )

    _, f3 = run_pool(threads, codes, float_)
    _, f4 = run_pool(threads, codes, lambda code: spend(app, keys, code, "first"))
    for f in (f1, f2, f3, f4):
        failures.update(f)
    seeded = Seeded(busy, quiet, grants)
    seeded.commands.update(
        {"register_donor": 1, "register_school": len(codes), "commit_grant": len(codes)}
    )
    seeded.commands.update({"disburse": len(codes), "record_expenditure": len(codes)})
    return seeded, failures


def spend(app: LedgerApplication, keys: Keys, code: str, ref: str) -> None:
    app.record_expenditure(
        keys.ctx("spend"),
        school=code,
        amount=SPEND,
        currency="KZT",
        category=CATEGORY,
        value_date=VALUE_DATE_SPEND,
        reference=f"INV-{ref}",
        description="bench",
    )


VOLUME_ROUNDS = 10


def seed_volume(
    app: LedgerApplication,
    keys: Keys,
    seeded: Seeded,
    target_events: int,
    threads: int,
    rng: random.Random,
) -> tuple[int, int, Counter[str]]:
    """Disbursements and expenditures on the busy schools until the log holds ~target.

    In rounds: a block of disbursements, then a block of expenditures. A disbursement
    locks (in-process) only its grant, yet also writes the school's account; run next
    to an expenditure on that school, one of the two loses on the account's version,
    and the group committer then re-commits its whole batch one command at a time.
    Mixed, the seeding ran at one command per transaction, several times slower.
    """
    missing = max(0, target_events - event_count(app))
    share = EXPENDITURE_SHARE
    per_command = (1 - share) * EVENTS_PER_DISBURSEMENT + share * EVENTS_PER_EXPENDITURE
    n_commands = round(missing / per_command)
    n_spend = round(n_commands * share)
    n_disb = n_commands - n_spend
    # Top up to the target with whole disbursements.
    missing_after = missing - n_disb * EVENTS_PER_DISBURSEMENT - n_spend * EVENTS_PER_EXPENDITURE
    n_disb += missing_after // EVENTS_PER_DISBURSEMENT
    failures: Counter[str] = Counter()

    def disburse(code: str) -> None:
        app.disburse(
            keys.ctx("disb"),
            grant_id=uuid.UUID(seeded.grants[code]),
            amount=AMOUNT,
            currency="KZT",
            value_date=VALUE_DATE_PAYMENT,
            payment_reference=f"PP-{code}",
        )

    for r in range(VOLUME_ROUNDS):
        d = n_disb * (r + 1) // VOLUME_ROUNDS - n_disb * r // VOLUME_ROUNDS
        e = n_spend * (r + 1) // VOLUME_ROUNDS - n_spend * r // VOLUME_ROUNDS
        _, f = run_pool(threads, [rng.choice(seeded.busy) for _ in range(d)], disburse)
        failures.update(f)
        schools = [rng.choice(seeded.busy) for _ in range(e)]
        _, f = run_pool(threads, schools, lambda code: spend(app, keys, code, code))
        failures.update(f)
    seeded.commands.update({"disburse": n_disb, "record_expenditure": n_spend})
    return n_disb, n_spend, failures


def event_count(app: LedgerApplication) -> int:
    """Events in the log. Not the head: a rolled-back insert leaves a gap in the ids."""
    recorder: Any = app.recorder
    table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(table))
        row = curs.fetchone()
    return int(row["n"])


# -- part 1: catch-up against the library's raw read --------------------------------


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
        create_generation(conn, new)
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
    app: LedgerApplication, store: ReadStore, alarms: wb.Alarms, when: str
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


QueryFn = Callable[[AsyncConnection, Tables], Awaitable[int]]


@dataclass
class Latency:
    name: str
    samples: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    rows: int | None = None
    rate: float | None = None  # HTTP: requests/s at the wrk concurrency
    failed: int = 0
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QuerySpec:
    key: str
    name: str
    run: QueryFn  # returns the rows answered
    where: Callable[[Tables], Any] | None = None  # the postings it reads, to count them


def query_specs(busy: str, quiet: str) -> list[QuerySpec]:
    async def control(conn: AsyncConnection, _: Tables) -> int:
        await conn.execute(text("SELECT 1"))
        return 1

    def school(code: str) -> QueryFn:
        async def run(conn: AsyncConnection, t: Tables) -> int:
            return len(await queries.school_rows(conn, t, code, Cut()))

        return run

    async def donor(conn: AsyncConnection, t: Tables) -> int:
        return len(await queries.donor_rows(conn, t, DONOR, Cut()))

    async def trial(conn: AsyncConnection, t: Tables) -> int:
        return len(await queries.account_balances(conn, t, None, Cut()))

    async def trial_as_of(conn: AsyncConnection, t: Tables) -> int:
        return len(await queries.account_balances(conn, t, None, Cut(as_of=AS_OF)))

    return [
        QuerySpec("control", "SELECT 1 (control)", control),
        QuerySpec(
            "school_quiet",
            f"school_rows {quiet} (quiet)",
            school(quiet),
            lambda t: t.postings.c.school == quiet,
        ),
        QuerySpec(
            "school_busy",
            f"school_rows {busy} (busy)",
            school(busy),
            lambda t: t.postings.c.school == busy,
        ),
        QuerySpec(
            "donor",
            f"donor_rows {DONOR} (all history)",
            donor,
            lambda t: t.postings.c.donor == DONOR,
        ),
        QuerySpec("trial", "account_balances (running balances)", trial),
        QuerySpec(
            "trial_as_of",
            f"account_balances as_of={AS_OF} (postings)",
            trial_as_of,
            lambda t: t.postings.c.value_date <= AS_OF,
        ),
    ]


def in_process_queries(
    store: ReadStore, specs: list[QuerySpec], samples: int, cap: float
) -> dict[str, Latency]:
    return asyncio.run(_in_process_queries(store, specs, samples, cap))


async def _in_process_queries(
    store: ReadStore, specs: list[QuerySpec], samples: int, cap: float
) -> dict[str, Latency]:
    """Each sample: a pooled connection checked out, one query, checked back in.

    That is what one API read costs the database, minus the active-generation and
    position look-ups every route adds (the control's cost, roughly). Sequential:
    one query at a time, so this is latency without queueing.
    """
    engine = store.async_engine
    out: dict[str, Latency] = {}
    try:
        async with engine.connect() as conn:
            tables = await active_tables(conn)
        for spec in specs:
            scanned: int | None = None
            if spec.where is not None:
                async with engine.connect() as conn:
                    stmt = select(func.count()).select_from(tables.postings)
                    scanned = (await conn.execute(stmt.where(spec.where(tables)))).scalar_one()
            rows = 0
            for _ in range(max(5, samples // 20)):  # warm-up: pool, plan cache, buffers
                async with engine.connect() as conn:
                    rows = await spec.run(conn, tables)
            latencies: list[float] = []
            deadline = time.perf_counter() + cap
            while len(latencies) < samples and (
                time.perf_counter() < deadline or len(latencies) < 20
            ):
                began = time.perf_counter()
                async with engine.connect() as conn:
                    await spec.run(conn, tables)
                latencies.append(time.perf_counter() - began)
            out[spec.key] = Latency(
                name=spec.name,
                samples=len(latencies),
                p50_ms=percentile_ms(latencies, 50),
                p99_ms=percentile_ms(latencies, 99),
                max_ms=max(latencies) * 1000,
                rows=rows,
                detail={"postings_read": scanned} if scanned is not None else {},
            )
    finally:
        # The pool's asyncpg connections belong to this event loop.
        await engine.dispose()
    return out


GET_LUA = r"""
-- Generated by bench/projection_bench.py: GETs of the URL's path, statuses counted.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, hdrs, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses") or {}) do
      merged[k] = (merged[k] or 0) + v
    end
  end
  local parts = {}
  for k, v in pairs(merged) do
    parts[#parts + 1] = string.format('"%s":%.0f', k, v)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%.0f,"duration_us":%.0f,"statuses":{%s},' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"mean":%.1f}}\n',
    summary.requests, summary.duration, table.concat(parts, ","),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def http_targets(busy: str, quiet: str) -> list[tuple[str, str]]:
    return [
        ("school_quiet", f"/v1/balances/schools/{quiet}"),
        ("school_busy", f"/v1/balances/schools/{busy}"),
        ("donor", f"/v1/balances/donors/{DONOR}"),
        ("trial", "/v1/balances/trial-balance"),
        ("trial_as_of", f"/v1/balances/trial-balance?as_of={AS_OF}"),
    ]


def wrk_get(
    base: str, path: str, connections: int, seconds: float, workdir: Path, alarms: wb.Alarms
) -> Latency:
    script = workdir / "get.lua"
    script.write_text(GET_LUA)
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(script),
        base + path,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    output = done.stdout + done.stderr
    found = re.search(r"^BENCH_JSON (.*)$", output, re.MULTILINE)
    if done.returncode != 0 or not found:
        msg = f"wrk failed ({done.returncode}) on {path}:\n{output}"
        raise RuntimeError(msg)
    data = json.loads(found.group(1))
    statuses = {k: int(v) for k, v in data["statuses"].items()}
    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    errors = {k: int(v) for k, v in data["errors"].items() if k != "status"}
    failed = sum(statuses.values()) - ok + sum(errors.values())
    if failed:
        alarms.raise_(f"GET {path}: {failed} failed requests {statuses} {errors}")
    lat = data["latency_us"]
    seconds_run = data["duration_us"] / 1e6
    return Latency(
        name=f"GET {path}",
        samples=int(data["requests"]),
        p50_ms=lat["p50"] / 1000,
        p99_ms=lat["p99"] / 1000,
        max_ms=lat["max"] / 1000,
        rate=int(data["requests"]) / seconds_run if seconds_run else None,
        failed=failed,
        detail={"statuses": statuses, "socket_errors": errors, "wrk": f"-t1 -c{connections}"},
    )


def http_queries(
    base: str, targets: list[tuple[str, str]], connections: int, seconds: float,
    workdir: Path, alarms: wb.Alarms,
) -> dict[str, Latency]:  # fmt: skip
    with httpx.Client(timeout=30.0) as client:
        for _, path in targets:  # a first answer each: plan caches, and a 200 at all
            answer = client.get(base + path)
            if answer.status_code != 200:
                alarms.raise_(f"GET {path} answered {answer.status_code}: {answer.text[:200]}")
    out: dict[str, Latency] = {}
    for key, path in targets:
        out[key] = wrk_get(base, path, connections, seconds, workdir, alarms)
    return out


# -- the server -----------------------------------------------------------------------


@contextlib.contextmanager
def ledger_server(url: str, workers: int, logfile: Path) -> Iterator[tuple[str, int]]:
    """``ledger serve`` as shipped (embedded projections on); yields (base URL, pid)."""
    port = wb.free_port()
    command = [str(VENV_BIN / "ledger"), "serve", "--database-url", url]
    command += ["--port", str(port), "--workers", str(workers)]
    with logfile.open("wb") as out:
        # Its own session, so the server and any workers die as one process group.
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        began = time.monotonic()
        wb.wait_ready(proc, base, logfile)
        log(f"ledger serve answering on {base} after {time.monotonic() - began:.1f}s")
        yield base, proc.pid
    finally:
        wb.stop_process_group(proc)


def wait_idle(base: str, limit: float = 120.0) -> tuple[float, int | None]:
    """Seconds until the server's projections report no lag (and the last lag seen)."""
    began = time.monotonic()
    lag: int | None = None
    with httpx.Client(timeout=10.0) as client:
        while time.monotonic() - began < limit:
            lag, _ = wb.projection_lag(client, base)
            if lag == 0:
                break
            time.sleep(0.1)
    return round(time.monotonic() - began, 2), lag


# -- part 3: lag under a write load ----------------------------------------------------


@dataclass
class LagSample:
    at: float  # time.monotonic() when the call was made
    lag_events: int | None
    lag_seconds: float | None
    call_ms: float
    position: int | None = None
    head: int | None = None
    error: str | None = None


class LagSampler:
    """Polls GET /v1/projections/status on a fixed grid (100 ms) in its own thread."""

    def __init__(self, base: str, interval: float) -> None:
        self.base = base
        self.interval = interval
        self.samples: list[LagSample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            tick = time.monotonic()
            while not self._stop.is_set():
                began = time.monotonic()
                sample = LagSample(began, None, None, 0.0)
                try:
                    answer = client.get(f"{self.base}/v1/projections/status")
                    answer.raise_for_status()
                    status = answer.json()["projections"][0]
                    sample.lag_events = int(status["lag_events"])
                    sample.lag_seconds = float(status["lag_seconds"])
                    sample.position = int(status["position"])
                    sample.head = int(status["log_head"])
                except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as e:
                    sample.error = repr(e)[:200]
                sample.call_ms = round((time.monotonic() - began) * 1000, 2)
                self.samples.append(sample)
                # The next point of the grid; a late answer skips ticks, never bunches them.
                tick += self.interval
                now = time.monotonic()
                if tick < now:
                    tick += math.ceil((now - tick) / self.interval) * self.interval
                self._stop.wait(tick - now)


def distribution(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    return {
        "p50": pct(50),
        "p99": pct(99),
        "max": ordered[-1],
        "mean": round(statistics.fmean(ordered), 3),
    }


def lag_phase(
    app: LedgerApplication,
    base: str,
    grants: list[str],
    tag: str,
    args: argparse.Namespace,
    workdir: Path,
    alarms: wb.Alarms,
    profile: Callable[[], contextlib.AbstractContextManager[Any]],
) -> dict[str, Any]:
    before_log = log_counts(app)
    head_before = app.log_head()
    sampler = LagSampler(base, args.sample_interval)
    sampler.start()
    try:
        time.sleep(args.idle_seconds)  # the idle baseline: lag with no writes
        zero = time.monotonic()
        log(f"write load: wrk -t2 -c{args.load_connections} -d{round(args.load_seconds)}s")
        with profile():
            run = wb.run_wrk(
                base, grants, f"{tag}-lag", 2, args.load_connections, args.load_seconds, workdir
            )
        load_end = time.monotonic() - zero
        head_after_load = app.log_head()
        # Keep sampling until the read side is idle again: the drain time.
        drain_began = time.monotonic()
        drained: float | None = None
        while time.monotonic() - drain_began < 60:
            time.sleep(args.sample_interval)
            last = sampler.samples[-1] if sampler.samples else None
            if last is not None and last.at - zero > load_end and last.lag_events == 0:
                drained = round(last.at - zero - load_end, 2)
                break
    finally:
        sampler.stop()
    wb.check_wrk("write load", run, alarms)
    wb.wait_until_quiet(app)
    after_log = log_counts(app)
    in_flight = max(0, run.issued - 1 - run.requests)
    recorded = after_log["disbursement"] - before_log["disbursement"]
    reconciliation = wb.reconcile("write load", run.ok_2xx, recorded, in_flight, alarms)
    if drained is None:
        alarms.raise_("projections did not catch up within 60 s after the write load")

    idle = [s for s in sampler.samples if s.at < zero]
    loaded = [s for s in sampler.samples if 0 <= s.at - zero <= load_end]
    errors = [s.error for s in sampler.samples if s.error]
    if errors:
        alarms.raise_(f"status route failed {len(errors)} times, e.g. {errors[0]}")
    events = [float(s.lag_events) for s in loaded if s.lag_events is not None]
    seconds = [s.lag_seconds for s in loaded if s.lag_seconds is not None]
    write_events = head_after_load - head_before
    # Rates over the load window from the status answers themselves: how fast the log
    # head and the projection's position moved, and the lag's trend (least squares).
    answered = [
        (s.at - zero, s.position, s.head, s.lag_events or 0)
        for s in loaded
        if s.position is not None and s.head is not None
    ]
    applied_rate = written_rate = slope = None
    if len(answered) >= 3:
        (t0, p0, h0, _), (t1, p1, h1, _) = answered[0], answered[-1]
        applied_rate, written_rate = (p1 - p0) / (t1 - t0), (h1 - h0) / (t1 - t0)
        slope = statistics.linear_regression(
            [a[0] for a in answered], [float(a[3]) for a in answered]
        ).slope
    return {
        "wrk": asdict(run) | {"output": None},
        "write_rate_req_s": run.rps,
        "write_p50_ms": run.p50_ms,
        "write_p99_ms": run.p99_ms,
        "write_events": write_events,
        "write_events_per_s": write_events / load_end if load_end else None,
        "load_seconds": round(load_end, 2),
        "samples_under_load": len(loaded),
        "samples_expected": int(load_end / args.sample_interval),
        "applied_events_per_s": applied_rate,
        "written_events_per_s": written_rate,
        "lag_trend_events_per_s": slope,
        "lag_events": distribution(events),
        "lag_seconds": distribution(seconds),
        "idle_lag_events": distribution(
            [float(s.lag_events) for s in idle if s.lag_events is not None]
        ),
        "status_call_ms": distribution([s.call_ms for s in loaded]),
        "status_call_ms_idle": distribution([s.call_ms for s in idle]),
        "drained_after_s": drained,
        "reconciliation": asdict(reconciliation),
        # t: seconds since the write load started (negative: the idle baseline).
        "samples": [
            {"t": round(s.at - zero, 3)} | {k: v for k, v in asdict(s).items() if k != "at"}
            for s in sampler.samples
        ],
    }


# -- profiling (optional) ---------------------------------------------------------------


@contextlib.contextmanager
def py_spy(pid: int, out: Path, enabled: bool, idle: bool = False) -> Iterator[None]:
    """Sample ``pid`` with py-spy while the block runs (raw collapsed stacks).

    ``idle``: threads waiting (on the database, a lock, a queue) are sampled too, so
    shares are of wall time; without it they are of the time threads were running.
    """
    if not enabled:
        yield
        return
    command = [str(VENV_BIN / "py-spy"), "record", "--pid", str(pid), "--rate", "100"]
    command += ["--format", "raw", "--output", str(out), "--nonblocking"]
    command += ["--idle"] if idle else []
    with out.with_suffix(".log").open("wb") as err:
        proc = subprocess.Popen(command, stdout=err, stderr=subprocess.STDOUT)
    time.sleep(0.5)  # attached before the work starts
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def server_profiles(pid: int, workdir: Path, enabled: bool) -> Iterator[None]:
    """Two samplers on the server: running time (which thread), and wall time."""
    with (
        py_spy(pid, workdir / "server-load.pyspy.txt", enabled),
        py_spy(pid, workdir / "server-wall.pyspy.txt", enabled, idle=True),
    ):
        yield


_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*?):(?P<line>\d+)\)$")


def _stacks(path: Path) -> Iterator[tuple[list[str], int]]:
    if not path.exists():
        return
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if n.isdigit():
            yield stack.split(";"), int(n)


def _label(frame: str) -> str:
    """A frame of project code: function and source line; elsewhere: the function."""
    m = _FRAME.match(frame)
    if not m:
        return frame
    name, file, line = m["name"], m["file"], int(m["line"])
    if not file.startswith(("projections/", "ledger/")):
        return name
    source = linecache.getline(str(ROOT / "services" / file), line).strip()
    return f"{name}:{line}  {source[:60]}"


def breakdown(path: Path, anchor: str) -> tuple[int, list[tuple[str, float]]]:
    """Where the samples under ``anchor`` went, by its direct callee (or its own line)."""
    counts: Counter[str] = Counter()
    total = 0
    for frames, n in _stacks(path):
        at = next((i for i, f in enumerate(frames) if f.startswith(anchor + " (")), None)
        if at is None:
            continue
        total += n
        counts[_label(frames[at + 1] if at + 1 < len(frames) else frames[at])] += n
    return total, [(label, 100 * c / total) for label, c in counts.most_common()]


def thread_split(path: Path) -> tuple[int, list[tuple[str, float]]]:
    """Share of a server's running samples per part: runner, committer, the rest."""
    counts: Counter[str] = Counter()
    total = 0
    for frames, n in _stacks(path):
        total += n
        joined = ";".join(frames)
        if "ProjectionRunner._loop" in joined:
            counts["projection runner thread"] += n
        elif "GroupCommitter._run" in joined:
            counts["group committer thread"] += n
        else:
            counts["requests (event loop + thread pool)"] += n
    return total, [(k, 100 * c / total) for k, c in counts.most_common()] if total else []


def print_breakdown(title: str, total: int, rows: list[tuple[str, float]], top: int) -> None:
    print(f"   {title} ({total:,} samples)")
    for label, share in rows[:top]:
        print(f"   {share:6.1f}%  {label}")


# -- report -----------------------------------------------------------------------------


def print_catch_up(passes: list[ReadPass], baseline: float, decode: float) -> None:
    header = f"{'read of the log':<42}{'events':>10}{'seconds':>9}{'events/s':>11}"
    header += f"{'/ raw':>8}{'/ decode':>10}"
    print(header)
    print("-" * len(header))
    for p in passes:
        print(
            f"{p.name:<42}{p.events:>10,}{p.seconds:>9.2f}{p.rate:>11,.0f}"
            f"{fmt(ratio(p.rate, baseline), 3):>8}{fmt(ratio(p.rate, decode), 3):>10}"
        )


def print_latencies(
    title: str,
    small: dict[str, Latency],
    large: dict[str, Latency],
    events: tuple[int, int],
    column: tuple[str, Callable[[Latency, Latency], str]],
) -> dict[str, dict[str, float | None]]:
    a, b = (f"{n / 1000:,.0f}k" if n >= 10_000 else f"{n:,}" for n in events)
    print(title)
    header = f"   {'query':<50}{column[0]:>15}{'p50 @' + a:>11}{'p99 @' + a:>11}"
    header += f"{'p50 @' + b:>11}{'p99 @' + b:>11}{'p50 x':>8}{'p99 x':>8}"
    print(header)
    print("   " + "-" * (len(header) - 3))
    ratios: dict[str, dict[str, float | None]] = {}
    for key, s in small.items():
        big = large.get(key)
        if big is None:
            continue
        r50, r99 = ratio(big.p50_ms, s.p50_ms), ratio(big.p99_ms, s.p99_ms)
        ratios[key] = {"p50": r50, "p99": r99, "rate": ratio(big.rate, s.rate)}
        print(
            f"   {big.name[:49]:<50}{column[1](s, big):>15}{fmt(s.p50_ms, 2):>11}"
            f"{fmt(s.p99_ms, 2):>11}{fmt(big.p50_ms, 2):>11}{fmt(big.p99_ms, 2):>11}"
            f"{fmt(r50, 2):>8}{fmt(r99, 2):>8}"
        )
    return ratios


def _read(small: Latency, big: Latency) -> str:
    if "postings_read" in small.detail:
        return f"{small.detail['postings_read']:,}->{big.detail['postings_read']:,}"
    return f"{small.rows:,}->{big.rows:,} rows" if small.rows is not None else "-"


def _rates(small: Latency, big: Latency) -> str:
    return f"{fmt(small.rate, 0)}->{fmt(big.rate, 0)}"


# -- main -------------------------------------------------------------------------------


def code_version() -> str:
    """The commit measured, and whether the code under test differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "services", "contracts"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (services/ or contracts/ modified)" if dirty else head


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument(
        "--database-url",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", wb.DEFAULT_URL),
        help="PostgreSQL server/database (no ?schema: a fresh schema is made per run)",
    )
    p.add_argument("--events", type=int, default=100_000, help="log size for the large case")
    p.add_argument("--schools", type=int, default=100, help="busy schools (one grant each)")
    p.add_argument("--quiet-schools", type=int, default=10, help="schools with no volume")
    p.add_argument("--seed-threads", type=int, default=64, help="threads recording commands")
    p.add_argument("--batch", type=int, default=500, help="notifications per page (runner's)")
    p.add_argument("--query-samples", type=int, default=400, help="per in-process query")
    p.add_argument("--query-cap", type=float, default=4.0, help="seconds per in-process query")
    p.add_argument("--wrk-seconds", type=float, default=5.0, help="per HTTP read endpoint")
    p.add_argument("--wrk-connections", type=int, default=4, help="wrk -c for the reads")
    p.add_argument("--load-seconds", type=float, default=15.0, help="write load for the lag")
    p.add_argument("--load-connections", type=int, default=16, help="wrk -c for the writes")
    p.add_argument("--sample-interval", type=float, default=0.1, help="status poll (seconds)")
    p.add_argument("--idle-seconds", type=float, default=2.0, help="lag sampled before load")
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers for ledger serve")
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the catch-up (this process) and the server under the write load",
    )
    p.add_argument("--keep-logs", action="store_true", help="keep server logs, wrk scripts")
    return p.parse_args()


def preflight(args: argparse.Namespace) -> None:
    if "?" in args.database_url:
        sys.exit("--database-url must not carry a query: the benchmark picks its own schema")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    if not (VENV_BIN / "ledger").exists():
        sys.exit(f"{VENV_BIN / 'ledger'} not found: run with the project's .venv/bin/python")
    if args.profile and not (VENV_BIN / "py-spy").exists():
        sys.exit(f"--profile needs {VENV_BIN / 'py-spy'} (.venv/bin/pip install py-spy)")


def main() -> int:
    args = parse_args()
    preflight(args)
    signal.signal(signal.SIGTERM, wb._terminate)
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    tag = f"{now.strftime('%Y%m%d_%H%M%S')}_{uuid.uuid4().hex[:4]}"
    schema = f"bench_{tag}_read"
    base_url = args.database_url
    url = wb.schema_url(base_url, schema)
    alarms = wb.Alarms()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="projection-bench-"))
    load_at_start = os.getloadavg()[0]
    rng = random.Random(20240201)
    version = code_version()
    log(f"code {version}; PostgreSQL {wb.server_version(base_url)}; schema {schema}")
    log(f"load average {load_at_start:.2f} on {os.cpu_count()} CPUs before the run")
    wb.create_schemas(base_url, [schema])
    app: LedgerApplication | None = None
    store: ReadStore | None = None
    result: dict[str, Any] = {}
    try:
        app = LedgerApplication(eventsourcing_env(url, pool_size=16))
        keys = Keys(tag)

        # -- the small log ----------------------------------------------------------
        t0 = time.monotonic()
        seeded, failures = seed_small(app, keys, args.schools, args.quiet_schools, 16)
        small_events = event_count(app)
        seed_small_s = time.monotonic() - t0
        if failures:
            alarms.raise_(f"seeding the small log: failed commands {dict(failures)}")
        log(
            f"small log: {small_events:,} events ({sum(seeded.commands.values()):,} commands, "
            f"{len(seeded.busy)} busy + {len(seeded.quiet)} quiet schools) in {seed_small_s:.1f}s"
        )
        store = ReadStore.for_database(url)
        store.ensure_schema()
        runner = ProjectionRunner(app.event_log, store, batch_size=args.batch)
        runner.catch_up()
        analyze(store)
        checks = {"small": check_read_models(app, store, alarms, "small log")}
        busy, quiet = seeded.busy[0], seeded.quiet[0]
        specs = query_specs(busy, quiet)
        targets = http_targets(busy, quiet)
        log("in-process queries on the small log")
        inproc_small = in_process_queries(store, specs, args.query_samples, args.query_cap)
        log(f"HTTP reads on the small log: wrk -t1 -c{args.wrk_connections} per endpoint")
        with ledger_server(url, args.workers, workdir / "server-small.log") as (http, _):
            http_small = http_queries(
                http, targets, args.wrk_connections, args.wrk_seconds, workdir, alarms
            )

        # -- volume ---------------------------------------------------------------------
        log(f"recording commands until the log holds ~{args.events:,} events")
        t0 = time.monotonic()
        committer_before = asdict(app.committer.stats)
        n_disb, n_spend, failures = seed_volume(
            app, keys, seeded, args.events, args.seed_threads, rng
        )
        seed_volume_s = time.monotonic() - t0
        large_events = event_count(app)
        large_head = app.log_head()
        if failures:
            alarms.raise_(f"seeding the volume: failed commands {dict(failures)}")
        committer = {k: v - committer_before[k] for k, v in asdict(app.committer.stats).items()}
        committer["largest_batch"] = app.committer.stats.largest_batch
        log(
            f"volume: {n_disb:,} disbursements + {n_spend:,} expenditures -> "
            f"{large_events:,} events in {seed_volume_s:.1f}s "
            f"({(n_disb + n_spend) / seed_volume_s:,.0f} commands/s, "
            f"{(large_events - small_events) / seed_volume_s:,.0f} events/s; log head "
            f"{large_head:,}; committer conflicts {committer['conflicts']:,})"
        )
        if committer["conflicts"]:
            log("   (conflicts make the committer re-commit batches one command at a time)")

        # -- part 1: catch-up against the raw read ------------------------------------
        log(f"reading the log: raw, raw + decode, projection, then again (batch {args.batch})")
        passes = [
            raw_pass(app, large_head, args.batch, False, "raw select_notifications (1)"),
            raw_pass(app, large_head, args.batch, True, "raw + to_domain_event (1)"),
        ]
        with py_spy(os.getpid(), workdir / "catch-up.pyspy.txt", args.profile, idle=True):
            catch_up, _ = fresh_catch_up(runner, large_head)
        passes.append(catch_up)
        passes.append(raw_pass(app, large_head, args.batch, True, "raw + to_domain_event (2)"))
        passes.append(raw_pass(app, large_head, args.batch, False, "raw select_notifications (2)"))
        # Baselines bracket the catch-up in time: their mean is what the log read cost
        # around it, whatever else the machine was doing.
        raw_rate = statistics.fmean([passes[0].rate, passes[4].rate])
        decode_rate = statistics.fmean([passes[1].rate, passes[3].rate])
        checks["large"] = check_read_models(app, store, alarms, "after the catch-up")
        analyze(store)

        # -- part 2 on the large log, then part 3 on the same server -------------------
        log("in-process queries on the large log")
        inproc_large = in_process_queries(store, specs, args.query_samples, args.query_cap)
        log(f"HTTP reads on the large log: wrk -t1 -c{args.wrk_connections} per endpoint")
        with ledger_server(url, args.workers, workdir / "server-large.log") as (http, pid):
            http_large = http_queries(
                http, targets, args.wrk_connections, args.wrk_seconds, workdir, alarms
            )
            lag = lag_phase(
                app,
                http,
                seeded.busy_grants,
                tag,
                args,
                workdir,
                alarms,
                lambda: server_profiles(pid, workdir, args.profile),
            )
            _, last_lag = wait_idle(http)
            if last_lag != 0:
                alarms.raise_(f"projections still {last_lag} events behind after the load")
        checks["after_load"] = check_read_models(app, store, alarms, "after the write load")
        result = {
            "seeding": {
                "small_events": small_events,
                "small_seconds": round(seed_small_s, 2),
                "large_events": large_events,
                "large_log_head": large_head,
                "volume_seconds": round(seed_volume_s, 2),
                "volume_disbursements": n_disb,
                "volume_expenditures": n_spend,
                "volume_commands_per_s": (n_disb + n_spend) / seed_volume_s,
                "volume_events_per_s": (large_events - small_events) / seed_volume_s,
                "committer": committer,
                "commands": dict(seeded.commands),
            },
            "catch_up": [asdict(p) for p in passes],
            "catch_up_baselines": {"raw_mean": raw_rate, "decode_mean": decode_rate},
            "queries_in_process": {
                "small": {k: asdict(v) for k, v in inproc_small.items()},
                "large": {k: asdict(v) for k, v in inproc_large.items()},
            },
            "queries_http": {
                "small": {k: asdict(v) for k, v in http_small.items()},
                "large": {k: asdict(v) for k, v in http_large.items()},
            },
            "lag": lag,
            "checks": checks,
        }
    finally:
        if store is not None:
            store.close()
        if app is not None:
            app.close()
        try:
            wb.drop_schemas(base_url, [schema])
            log(f"dropped schema {schema}")
        except Exception as e:  # the figures are still worth printing
            alarms.raise_(f"could not drop schema {schema}: {e}")

    # -- report -----------------------------------------------------------------------------
    s = result["seeding"]
    print()
    print(
        f"== projection benchmark {stamp}  (code {version}; {os.cpu_count()} CPUs, load average "
        f"{load_at_start:.2f} before / {os.getloadavg()[0]:.2f} after)"
    )
    if load_at_start > 0.5 * (os.cpu_count() or 1):
        print(
            "   note: the machine was already busy before the run; other work shifting "
            "between phases skews the ratios too. Compare several runs."
        )
    print(
        f"seeding: small log {s['small_events']:,} events in {s['small_seconds']:.1f}s; "
        f"volume {s['volume_disbursements']:,} disbursements + {s['volume_expenditures']:,} "
        f"expenditures from {args.seed_threads} threads -> {s['large_events']:,} events in "
        f"{s['volume_seconds']:.1f}s ({s['volume_commands_per_s']:,.0f} commands/s, "
        f"{s['volume_events_per_s']:,.0f} events/s; {s['committer']['transactions']:,} "
        f"group commits, {s['committer']['conflicts']:,} conflicts)"
    )
    print()
    print(f"1. catch-up over {large_events:,} events (pages of {args.batch})")
    print_catch_up(passes, raw_rate, decode_rate)
    tenths = catch_up.detail["events_per_s_by_tenth"]
    print(
        f"   ratios use the mean of the two bracketing passes: raw {raw_rate:,.0f}/s, "
        f"raw + decode {decode_rate:,.0f}/s"
    )
    print(f"   catch-up events/s per tenth of the log: {', '.join(f'{x:,.0f}' for x in tenths)}")
    per_batch = catch_up.detail["statements_per_batch"]
    print(
        f"   catch-up SQL per batch ({catch_up.detail['batches']} batches), besides the log "
        f"read: {', '.join(f'{v:,.1f} {k}' for k, v in sorted(per_batch.items()))} "
        f"(SELECT: 1 tracking read, the rest per-batch look-ups of grants, regions, accounts)"
    )
    print()
    sizes = (s["small_events"], s["large_events"])
    print("2. balance queries, ms (x = large / small; the controls show machine drift)")
    inproc_ratios = print_latencies(
        "   in-process (pooled connection checkout + one query; sequential):",
        inproc_small,
        inproc_large,
        sizes,
        ("postings read", _read),
    )
    print()
    http_ratios = print_latencies(
        f"   HTTP (ledger serve --workers {args.workers}, wrk -t1 -c{args.wrk_connections}, "
        f"{args.wrk_seconds:g}s each):",
        http_small,
        http_large,
        sizes,
        ("req/s", _rates),
    )
    c_small, c_large = checks["small"], checks["large"]
    print(
        f"   read models: {c_small['postings']:,} -> {c_large['postings']:,} postings, "
        f"{c_small['accounts']:,} -> {c_large['accounts']:,} accounts; balances table "
        f"{c_small['balances_table_kb']:,} -> {c_large['balances_table_kb']:,} kB "
        f"(dead row versions until vacuum)"
    )
    print()
    le, ls = lag["lag_events"], lag["lag_seconds"]
    print(
        f"3. projection lag under write load (ledger serve --workers {args.workers}, "
        f"wrk -t2 -c{args.load_connections}, {lag['load_seconds']:.0f}s)"
    )
    print(
        f"   writes: {lag['wrk']['ok_2xx']:,} disbursements, {lag['write_rate_req_s']:,.1f} "
        f"req/s = {fmt(lag['write_events_per_s'], 0)} events/s; write p50 "
        f"{lag['write_p50_ms']:.1f} ms, p99 {lag['write_p99_ms']:.1f} ms"
    )
    print(
        f"   status samples: {lag['samples_under_load']} under load "
        f"(grid {args.sample_interval * 1000:.0f} ms: {lag['samples_expected']} expected); "
        f"status call p50 {fmt(lag['status_call_ms']['p50'], 1)} ms, "
        f"p99 {fmt(lag['status_call_ms']['p99'], 1)} ms (idle p50 "
        f"{fmt(lag['status_call_ms_idle']['p50'], 1)} ms)"
    )
    print(f"   {'':<14}{'p50':>10}{'p99':>10}{'max':>10}{'mean':>10}   idle max")
    print(
        f"   {'lag_events':<14}{fmt(le['p50'], 0):>10}{fmt(le['p99'], 0):>10}"
        f"{fmt(le['max'], 0):>10}{fmt(le['mean'], 1):>10}   "
        f"{fmt(lag['idle_lag_events']['max'], 0)}"
    )
    print(
        f"   {'lag_seconds':<14}{fmt(ls['p50'], 3):>10}{fmt(ls['p99'], 3):>10}"
        f"{fmt(ls['max'], 3):>10}{fmt(ls['mean'], 3):>10}"
    )
    print(
        f"   under load the log grew {fmt(lag['written_events_per_s'], 0)} events/s, the "
        f"projection applied {fmt(lag['applied_events_per_s'], 0)}/s; lag trend "
        f"{fmt(lag['lag_trend_events_per_s'], 1)} events/s (~0: keeping up; > 0: falling behind)"
    )
    print(
        f"   back to lag 0 {fmt(lag['drained_after_s'], 2)} s after the load stopped; "
        f"{lag['reconciliation']['verdict']} "
        f"({lag['reconciliation']['acknowledged']:,} acknowledged, "
        f"{lag['reconciliation']['recorded']:,} recorded)"
    )
    ratios: dict[str, float | None] = {
        "catch-up / raw read": ratio(catch_up.rate, raw_rate),
        "catch-up / raw + decode": ratio(catch_up.rate, decode_rate),
        "raw + decode / raw read": ratio(decode_rate, raw_rate),
        "catch-up last tenth / first tenth": ratio(tenths[-1], tenths[0]),
        "catch-up / write load events/s": ratio(catch_up.rate, lag["write_events_per_s"]),
        "under load: applied / written": ratio(
            lag["applied_events_per_s"], lag["written_events_per_s"]
        ),
        "under load: applied / catch-up alone": ratio(lag["applied_events_per_s"], catch_up.rate),
        "lag_seconds p99 / write p99": ratio(ls["p99"], lag["write_p99_ms"] / 1000),
    }
    for where, rs in (("in-process", inproc_ratios), ("HTTP", http_ratios)):
        for key, r in rs.items():
            ratios[f"{where} {key} p50 large/small"] = r["p50"]
            ratios[f"{where} {key} p99 large/small"] = r["p99"]
    print()
    print("ratios (same run):")
    for name in list(ratios)[:8]:
        print(f"  {name:<38} {fmt(ratios[name], 3):>9}")
    print("  (query ratios: in the tables above, and in the JSON)")

    if args.profile:
        print()
        print(f"py-spy (raw stacks in {workdir}):")
        profiles = {
            "catch-up: run_once, wall time": breakdown(
                workdir / "catch-up.pyspy.txt", "ProjectionRunner.run_once"
            ),
            "catch-up: BatchApplier.apply, wall time": breakdown(
                workdir / "catch-up.pyspy.txt", "BatchApplier.apply"
            ),
            "catch-up: BatchApplier.flush, wall time": breakdown(
                workdir / "catch-up.pyspy.txt", "BatchApplier.flush"
            ),
            "server under the write load: running samples by thread": thread_split(
                workdir / "server-load.pyspy.txt"
            ),
            "server under the write load: runner thread, wall time": breakdown(
                workdir / "server-wall.pyspy.txt", "ProjectionRunner._loop"
            ),
            "server under the write load: run_once, wall time": breakdown(
                workdir / "server-wall.pyspy.txt", "ProjectionRunner.run_once"
            ),
        }
        for title, (total, rows) in profiles.items():
            print_breakdown(title, total, rows, top=8)
        result["profiles"] = {k: {"samples": t, "shares": r} for k, (t, r) in profiles.items()}

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"projection-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "timestamp": now.isoformat(),
                "code": version,
                "host": {
                    "cpus": os.cpu_count(),
                    "loadavg_1m_before": load_at_start,
                    "loadavg_1m_after": os.getloadavg()[0],
                    "python": platform.python_version(),
                    "postgres": wb.server_version(base_url),
                },
                "config": {k: v for k, v in vars(args).items() if k != "database_url"},
                **result,
                "ratios": ratios,
                "alarms": alarms.items,
                "runtime_seconds": round(time.monotonic() - started, 1),
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nwrote {out.relative_to(ROOT)}")
    print(f"total runtime {time.monotonic() - started:.0f}s")
    if args.keep_logs or args.profile or alarms.items:
        print(f"server logs, wrk scripts and profiles kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    if alarms.items:
        print("\n" + "!" * 78)
        print(f"!!! {len(alarms.items)} ALARM(S) — these figures are NOT clean:")
        for item in alarms.items:
            print(f"!!!  - {item}")
        print("!" * 78)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as e:
        print(f"\ninterrupted ({e or 'Ctrl-C'}); server stopped, schema dropped", file=sys.stderr)
        sys.exit(130)
