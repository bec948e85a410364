"""Write-path benchmark: ledger disbursements against what the same store does bare.

One run, one PostgreSQL, one machine:

* HTTP: ``ledger serve`` driven by wrk (disbursements at c1, c32, c32 on one hot grant,
  and c32 again with the embedded projections switched off);
* in-process: the same command called from threads, without HTTP;
* baselines: the bare eventsourcing library (one trivial event per save) and raw
  asyncpg single-row INSERT commits.

Absolute numbers on a shared 2-core box are noise; the ratios between figures taken in
the same run are the result. See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context
from ledger.infrastructure.keys import load_key_material, mint_token
from ledger.infrastructure.settings import Settings, eventsourcing_env

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
ACTOR = "bench"
# The servers this script starts verify tokens signed with a secret made for the run.
BENCH_SECRET = secrets.token_urlsafe(48)
BEARER = {
    "Authorization": "Bearer "
    + mint_token(
        load_key_material(Settings(jwt_secret=BENCH_SECRET)),  # type: ignore[arg-type]
        ACTOR,
        ["officer", "auditor"],
        dt.timedelta(hours=12),
    )
}
DONOR = "bench-donor"
# A commitment far beyond what any run can disburse, so "exceeds the undisbursed
# commitment" can never be the reason a request fails.
COMMITMENT = 10**14
AMOUNT = 10_000  # tiyn per disbursement (100 KZT)
VALUE_DATE_GRANT = dt.date(2024, 1, 10)
VALUE_DATE_PAYMENT = dt.date(2024, 2, 1)
RAW_PAYLOAD_BYTES = 300  # about one serialised ledger event


# -- results ------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured phase, in the unit its caller counts (requests, saves, rows...)."""

    name: str
    unit: str
    rate: float
    ok: int
    failed: int
    seconds: float
    concurrency: int
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Alarms:
    """Everything that must not pass silently; any entry makes the run exit 1."""

    items: list[str] = field(default_factory=list)

    def raise_(self, message: str) -> None:
        self.items.append(message)
        print(f"\n!!!!! {message}\n", flush=True)


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


def percentile_ms(samples: list[float], pct: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index] * 1000


# -- timed loops shared by the in-process and library phases ------------------------


@dataclass
class LoopResult:
    ok: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    # Every success, warm-up included, so the store can be reconciled against it.
    ok_total: int = 0


def run_threads(
    n_threads: int,
    warmup: float,
    duration: float,
    make_worker: Callable[[int], Callable[[], None]],
) -> tuple[LoopResult, float]:
    """Run ``n_threads`` loops calling one operation until the deadline.

    Only operations that *complete* inside the measured window (after the warm-up)
    count, and the rate divides by that window, so pool start-up and the stragglers
    finishing after the deadline do not distort it.
    """
    result = LoopResult()
    lock = threading.Lock()
    stop = threading.Event()
    start = time.perf_counter()
    measure_from = start + warmup
    deadline = measure_from + duration
    errors: list[BaseException] = []

    def loop(tid: int) -> None:
        try:
            operation = make_worker(tid)
        except BaseException as e:
            errors.append(e)
            return
        mine = LoopResult()
        while not stop.is_set():
            began = time.perf_counter()
            if began >= deadline:
                break
            try:
                operation()
            except Exception as e:
                mine.failures[type(e).__name__] += 1
                continue
            finished = time.perf_counter()
            mine.ok_total += 1
            if measure_from <= finished <= deadline:
                mine.ok += 1
                mine.latencies.append(finished - began)
        with lock:
            result.ok += mine.ok
            result.ok_total += mine.ok_total
            result.latencies.extend(mine.latencies)
            result.failures.update(mine.failures)

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(n_threads)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    finally:
        stop.set()
    if errors:
        raise errors[0]
    return result, duration


def loop_figure(
    name: str, unit: str, concurrency: int, result: LoopResult, seconds: float
) -> Figure:
    return Figure(
        name=name,
        unit=unit,
        rate=result.ok / seconds,
        ok=result.ok,
        failed=sum(result.failures.values()),
        seconds=seconds,
        concurrency=concurrency,
        p50_ms=percentile_ms(result.latencies, 50),
        p99_ms=percentile_ms(result.latencies, 99),
        max_ms=max(result.latencies) * 1000 if result.latencies else None,
        detail={"failures": dict(result.failures)} if result.failures else {},
    )


# -- database housekeeping ----------------------------------------------------------


def schema_url(base: str, schema: str) -> str:
    return f"{base}?schema={schema}"


def create_schemas(base: str, schemas: list[str]) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


def drop_schemas(base: str, schemas: list[str]) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        # A leftover connection holding a lock must fail the drop, not hang the run.
        conn.execute("SET lock_timeout = '15s'")
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def server_version(base: str) -> str:
    with psycopg.connect(base, autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        sync = conn.execute("SHOW synchronous_commit").fetchone()
    return f"{row[0] if row else '?'} (synchronous_commit={sync[0] if sync else '?'})"


# -- seeding ------------------------------------------------------------------------


# Each measured phase disburses over its own fresh grants (and schools, whose accounts
# are written too). Loading an aggregate replays its whole history, so a phase that
# inherited the previous phase's events would be measured against a heavier store.
SPREAD_SETS = ("inproc", "c1", "c32", "c32np")
WARMUP_GRANTS = 50

# The server setting that turns the embedded projection runner off (a separate
# `ledger projections run` process then follows the log). When the ledger has no
# such setting, the "projections off" variant is skipped.
PROJECTIONS_SWITCH = (
    "LEDGER_RUN_PROJECTIONS" if "run_projections" in Settings.model_fields else None
)


def seed(app: LedgerApplication, n_schools: int, tag: str) -> dict[str, list[str]]:
    """Register the donor, then per set ``n_schools`` hub schools with one grant each.

    Returns grant ids per set, plus ``warmup`` (a few grants the warm-ups wear out)
    and ``hot`` (one grant on a school of its own).
    """
    counter = iter(range(10**9))
    counter_lock = threading.Lock()

    def ctx() -> Context:
        with counter_lock:
            n = next(counter)
        return Context(ACTOR, f"seed-{tag}-{n:08d}")

    app.register_donor(ctx(), code=DONOR, name="Benchmark donor")
    sizes = {name: n_schools for name in SPREAD_SETS} | {"warmup": WARMUP_GRANTS, "hot": 1}
    codes = [(name, f"{name}-{i:04d}") for name, size in sizes.items() for i in range(size)]

    def school(item: tuple[str, str]) -> None:
        app.register_school(
            ctx(),
            code=item[1],
            name=f"Hub school {item[1]}",
            school_type="hub",
            region="aktobe",
            district="Bench district",
        )

    def grant(item: tuple[str, str]) -> str:
        recorded = app.commit_grant(
            ctx(),
            donor=DONOR,
            school=item[1],
            programme=None,
            amount=COMMITMENT,
            currency="KZT",
            value_date=VALUE_DATE_GRANT,
            reference=f"AGR-{item[1]}",
        )
        return str(recorded.response["grant_id"])

    # Concurrent seeding lets the group committer batch it: seconds, not minutes.
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(school, codes))
        grant_ids = list(pool.map(grant, codes))
    sets: dict[str, list[str]] = {name: [] for name in sizes}
    for (name, _), grant_id in zip(codes, grant_ids, strict=True):
        sets[name].append(grant_id)
    return sets


def load_ms(app: LedgerApplication, grant_id: str, repeats: int = 15) -> float:
    """Median time to load one grant from the store (a full replay: no cache, no snapshot)."""
    gid = uuid.UUID(grant_id)
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        app.get_grant(gid)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def total_disbursed(app: LedgerApplication, grant_ids: list[str]) -> int:
    return sum(app.get_grant(uuid.UUID(g)).disbursed for g in grant_ids)


def wait_until_quiet(app: LedgerApplication, settle: float = 0.6, limit: float = 30.0) -> int:
    """Wait until the log head stops moving.

    wrk stops with requests in flight; the server still finishes them (a sync route
    is not cancelled by a closed socket), so the store is read only once it is idle.
    """
    deadline = time.monotonic() + limit
    head = app.log_head()
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = app.log_head()
        if now != head:
            head, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= settle:
            break
    return head


# -- baseline (a): the bare eventsourcing library -----------------------------------


class Tick(Aggregate):
    """The cheapest aggregate the library can save: no attributes on its event."""

    def __init__(self) -> None:
        self.ticks = 0

    @event("Ticked")
    def tick(self) -> None:
        self.ticks += 1


def bare_library(
    base: str, schema: str, threads: int, warmup: float, duration: float
) -> tuple[Figure, int]:
    env = eventsourcing_env(schema_url(base, schema), pool_size=threads)
    env["POSTGRES_MAX_OVERFLOW"] = "4"
    app: Application[Any] = Application(env)
    try:

        def make(_: int) -> Callable[[], None]:
            aggregate = Tick()
            app.save(aggregate)

            def op() -> None:
                aggregate.tick()
                app.save(aggregate)

            return op

        result, seconds = run_threads(threads, warmup, duration, make)
        stored = app.recorder.max_notification_id() or 0
    finally:
        app.close()
    figure = loop_figure("bare eventsourcing save", "saves/s", threads, result, seconds)
    # One Created event per thread, then one event per successful save.
    figure.detail["stored_events"] = stored
    figure.detail["expected_events"] = threads + result.ok_total
    return figure, stored - (threads + result.ok_total)


# -- baseline (b): raw asyncpg commits ----------------------------------------------


def raw_asyncpg(base: str, schema: str, conns: int, warmup: float, duration: float) -> Figure:
    return asyncio.run(_raw_asyncpg(base, schema, conns, warmup, duration))


async def _raw_asyncpg(
    base: str, schema: str, conns: int, warmup: float, duration: float
) -> Figure:
    table = f'"{schema}".raw_rows'
    setup = await asyncpg.connect(base)
    try:
        await setup.execute(
            f"CREATE TABLE {table} (id bigserial PRIMARY KEY, payload bytea NOT NULL)"
        )
    finally:
        await setup.close()
    payload = os.urandom(RAW_PAYLOAD_BYTES)
    insert = f"INSERT INTO {table} (payload) VALUES ($1)"
    start = time.perf_counter()
    measure_from = start + warmup
    deadline = measure_from + duration
    latencies: list[float] = []
    ok_total = 0

    async def worker() -> None:
        nonlocal ok_total
        conn = await asyncpg.connect(base)
        try:
            # Outside a transaction block each statement commits on its own.
            while (began := time.perf_counter()) < deadline:
                await conn.execute(insert, payload)
                finished = time.perf_counter()
                ok_total += 1
                if measure_from <= finished <= deadline:
                    latencies.append(finished - began)
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(conns)))
    check = await asyncpg.connect(base)
    try:
        stored = await check.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await check.close()
    return Figure(
        name="raw asyncpg INSERT commit",
        unit="rows/s",
        rate=len(latencies) / duration,
        ok=len(latencies),
        failed=0,
        seconds=duration,
        concurrency=conns,
        p50_ms=percentile_ms(latencies, 50),
        p99_ms=percentile_ms(latencies, 99),
        max_ms=max(latencies) * 1000 if latencies else None,
        detail={"stored_rows": stored, "inserted": ok_total, "payload_bytes": RAW_PAYLOAD_BYTES},
    )


# -- (c) the ledger in-process ------------------------------------------------------


def in_process(
    url: str, grants: list[str], threads: int, warmup: float, duration: float, tag: str
) -> tuple[Figure, LoopResult]:
    # Same pool settings the server uses per process (Settings.pool_size), so the
    # only difference from one HTTP worker is the HTTP layer itself.
    app = LedgerApplication(eventsourcing_env(url))
    grant_ids = [uuid.UUID(g) for g in grants]
    try:

        def make(tid: int) -> Callable[[], None]:
            rng = random.Random(tid)
            n = 0

            def op() -> None:
                nonlocal n
                n += 1
                app.disburse(
                    Context(ACTOR, f"inproc-{tag}-{tid}-{n}-{rng.getrandbits(32):08x}"),
                    grant_id=rng.choice(grant_ids),
                    amount=AMOUNT,
                    currency="KZT",
                    value_date=VALUE_DATE_PAYMENT,
                    payment_reference=f"PP-{tid}-{n}",
                )

            return op

        result, seconds = run_threads(threads, warmup, duration, make)
        stats = asdict(app.committer.stats)
    finally:
        app.close()
    figure = loop_figure("ledger in-process disburse", "commands/s", threads, result, seconds)
    transactions = stats["transactions"]
    stats["mean_batch"] = round(stats["commands"] / transactions, 2) if transactions else 0.0
    figure.detail["committer"] = stats
    return figure, result


# -- HTTP: the server and wrk -------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def ledger_server(
    url: str, workers: int, logfile: Path, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    port = free_port()
    command = [
        str(VENV_BIN / "ledger"),
        "serve",
        "--database-url",
        url,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with logfile.open("wb") as out:
        # Its own session, so the uvicorn supervisor and its workers die as one group.
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "LEDGER_JWT_SECRET": BENCH_SECRET, **(extra_env or {})},
        )
    base = f"http://127.0.0.1:{port}"
    try:
        began = time.monotonic()
        wait_ready(proc, base, logfile)
        log(f"ledger serve answering on {base} after {time.monotonic() - began:.1f}s")
        yield base
    finally:
        stop_process_group(proc)


def wait_ready(proc: subprocess.Popen[bytes], base: str, logfile: Path) -> None:
    deadline = time.monotonic() + 60
    consecutive = 0
    with httpx.Client(timeout=2.0, headers=BEARER) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = logfile.read_text(errors="replace")[-3000:]
                msg = f"ledger serve exited with {proc.returncode}:\n{tail}"
                raise RuntimeError(msg)
            try:
                ok = client.get(f"{base}/v1/donors/{DONOR}").status_code == 200
            except httpx.HTTPError:
                ok = False
            # Several answers in a row: with --workers N the first one to answer may
            # not be the last one to finish starting.
            consecutive = consecutive + 1 if ok else 0
            if consecutive >= 5:
                return
            time.sleep(0.2)
    msg = f"ledger serve did not answer within 60 s; log: {logfile}"
    raise RuntimeError(msg)


def stop_process_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    # Workers that outlived the supervisor share its process group id.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def projection_lag(client: httpx.Client, base: str) -> tuple[int | None, str | None]:
    """Events the server's read models are behind the log (its own status route).

    Returns (lag, None), or (None, why) when the route is missing, fails or answers
    in another shape: the read side is context for this benchmark, not a verdict.
    """
    try:
        answer = client.get(f"{base}/v1/projections/status")
        if answer.status_code != 200:
            return None, f"status route answered {answer.status_code}: {answer.text[:200]}"
        body = answer.json()
        items = body.get("projections", [body]) if isinstance(body, dict) else []
        lags = [int(p["lag_events"]) for p in items if isinstance(p, dict) and "lag_events" in p]
    except (httpx.HTTPError, ValueError, TypeError, KeyError) as e:
        return None, f"status route failed: {e!r}"
    return (max(lags), None) if lags else (None, "status route has no lag_events")


@dataclass
class CatchUp:
    lag_at_start: int | None
    seconds: float
    lag_at_end: int | None
    error: str | None = None


def wait_projections(base: str, limit: float = 120.0) -> CatchUp:
    """Wait until the embedded projections have applied the whole log.

    Each phase must start with the read side idle; otherwise it pays for the
    previous phase's backlog and the phases are no longer comparable.
    """
    began = time.monotonic()
    first: int | None = None
    lag: int | None = None
    error: str | None = None
    failures = 0
    with httpx.Client(timeout=10.0, headers=BEARER) as client:
        while time.monotonic() - began < limit:
            lag, error = projection_lag(client, base)
            if lag is None:
                # A transient failure right after a load is retried; a missing route
                # or a persistent failure is reported, not waited on.
                failures += 1
                if failures >= 10:
                    break
            else:
                first = lag if first is None else first
                if lag == 0:
                    error = None
                    break
            time.sleep(0.2)
    return CatchUp(first, round(time.monotonic() - began, 2), lag, error)


LUA_TEMPLATE = r"""
-- Generated by bench/write_bench.py: one disbursement per request, a random grant
-- each time, a unique Idempotency-Key per request (tag, thread, counter, random).
local grants = __GRANTS__
local ngrants = #grants
local tag = "__TAG__"
local amount = __AMOUNT__
local threads = {}
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end

function init(args)
  -- A distinct stream per thread, so threads do not pick grants in lockstep.
  math.randomseed(os.time() * 1000 + tid * 7919)
  issued = 0
  statuses = {}
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "__AUTHORIZATION__",
  }
end

function request()
  issued = issued + 1
  local grant = grants[math.random(ngrants)]
  headers["Idempotency-Key"] = string.format(
    "%s-%d-%d-%06x", tag, tid, issued, math.random(0, 16777215))
  local body = string.format(
    '{"amount":%d,"currency":"KZT","value_date":"__VALUE_DATE__","payment_reference":"PP-%d-%d"}',
    amount, tid, issued)
  return wrk.format("POST", "/v1/grants/" .. grant .. "/disbursements", headers, body)
end

function response(status, hdrs, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
end

function done(summary, latency, requests)
  local issued_total, merged = 0, {}
  for _, t in ipairs(threads) do
    issued_total = issued_total + (t:get("issued") or 0)
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
    'BENCH_JSON {"requests":%.0f,"duration_us":%.0f,"issued":%.0f,"statuses":{%s},' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"mean":%.1f}}\n',
    summary.requests, summary.duration, issued_total, table.concat(parts, ","),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def lua_script(grants: list[str], tag: str) -> str:
    lua_list = "{" + ",".join(f'"{g}"' for g in grants) + "}"
    return (
        LUA_TEMPLATE.replace("__GRANTS__", lua_list)
        .replace("__TAG__", tag)
        .replace("__AMOUNT__", str(AMOUNT))
        .replace("__AUTHORIZATION__", BEARER["Authorization"])
        .replace("__VALUE_DATE__", VALUE_DATE_PAYMENT.isoformat())
    )


_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_JSON = re.compile(r"^BENCH_JSON (.*)$", re.MULTILINE)


# name, key, wrk -t, wrk -c, grant set, seconds
HttpPhase = tuple[str, str, int, int, str, float]


@dataclass
class WrkRun:
    rps: float
    requests: int
    issued: int
    ok_2xx: int
    non_2xx: int
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    seconds: float
    text_non_2xx: int  # wrk's own "Non-2xx or 3xx responses" line (0 when absent)
    output: str


def run_wrk(
    base: str,
    grants: list[str],
    tag: str,
    threads: int,
    connections: int,
    duration: float,
    workdir: Path,
) -> WrkRun:
    script = workdir / f"{tag}.lua"
    script.write_text(lua_script(grants, tag))
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        # A generous timeout: a slow answer is a latency to measure, not an error
        # that hides the request from the percentiles.
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(script),
        base,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        msg = f"wrk failed ({done.returncode}):\n{output}"
        raise RuntimeError(msg)
    found = _JSON.search(output)
    if not found:
        msg = f"wrk printed no BENCH_JSON line:\n{output}"
        raise RuntimeError(msg)
    data = json.loads(found.group(1))
    rps_match = _RPS.search(output)
    non_match = _NON2XX.search(output)
    sock = _SOCKET.search(output)
    statuses = {k: int(v) for k, v in data["statuses"].items()}
    ok_2xx = sum(v for k, v in statuses.items() if k.startswith("2"))
    lat = data["latency_us"]
    return WrkRun(
        rps=float(rps_match.group(1)) if rps_match else data["requests"] / duration,
        requests=int(data["requests"]),
        issued=int(data["issued"]),
        ok_2xx=ok_2xx,
        non_2xx=sum(statuses.values()) - ok_2xx,
        statuses=statuses,
        socket_errors=(
            dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()), strict=True))
            if sock
            else {}
        ),
        p50_ms=lat["p50"] / 1000,
        p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000,
        max_ms=lat["max"] / 1000,
        seconds=data["duration_us"] / 1e6,
        text_non_2xx=int(non_match.group(1)) if non_match else 0,
        output=output,
    )


@dataclass
class Reconciliation:
    """Acknowledged requests against what the store actually recorded."""

    phase: str
    acknowledged: int  # 2xx responses (or successful in-process calls)
    recorded: int  # disbursed delta / AMOUNT
    in_flight_at_stop: int  # requests wrk sent but never saw answered
    verdict: str


def reconcile(
    phase: str, acknowledged: int, recorded: int, in_flight: int, alarms: Alarms
) -> Reconciliation:
    if recorded < acknowledged:
        verdict = "LOST WRITES"
        alarms.raise_(
            f"{phase}: {acknowledged} disbursements acknowledged but only {recorded} recorded"
        )
    elif recorded > acknowledged + in_flight:
        verdict = "PHANTOM WRITES"
        alarms.raise_(
            f"{phase}: {recorded} recorded, more than {acknowledged} acknowledged "
            f"+ {in_flight} in flight when the load stopped"
        )
    elif recorded == acknowledged:
        verdict = "exact"
    else:
        verdict = f"ok ({recorded - acknowledged} answered after the client stopped)"
    return Reconciliation(phase, acknowledged, recorded, in_flight, verdict)


def check_wrk(phase: str, run: WrkRun, alarms: Alarms) -> None:
    if run.non_2xx or run.text_non_2xx:
        others = {k: v for k, v in run.statuses.items() if not k.startswith("2")}
        alarms.raise_(
            f"{phase}: {run.non_2xx} NON-2xx RESPONSES {others} "
            f"(wrk: 'Non-2xx or 3xx responses: {run.text_non_2xx}')"
        )
    if any(run.socket_errors.values()):
        alarms.raise_(f"{phase}: wrk socket errors {run.socket_errors}")


def http_figure(name: str, threads: int, connections: int, run: WrkRun) -> Figure:
    return Figure(
        name=name,
        unit="req/s",
        rate=run.rps,
        ok=run.ok_2xx,
        failed=run.non_2xx + sum(run.socket_errors.values()),
        seconds=run.seconds,
        concurrency=connections,
        p50_ms=run.p50_ms,
        p99_ms=run.p99_ms,
        max_ms=run.max_ms,
        detail={
            "wrk": f"-t{threads} -c{connections}",
            "statuses": run.statuses,
            "socket_errors": run.socket_errors,
            "issued": run.issued,
            "p90_ms": run.p90_ms,
        },
    )


# -- report -------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_table(figures: list[Figure]) -> None:
    header = f"{'phase':<34}{'conc':>5}{'rate':>12} {'unit':<11}{'ok':>9}{'fail':>6}"
    header += f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    print(header)
    print("-" * len(header))
    for f in figures:
        print(
            f"{f.name:<34}{f.concurrency:>5}{fmt(f.rate):>12} {f.unit:<11}{f.ok:>9,}"
            f"{f.failed:>6}{fmt(f.p50_ms, 2):>9}{fmt(f.p99_ms, 2):>9}{fmt(f.max_ms, 1):>9}"
        )


def ratio(a: Figure | None, b: Figure | None) -> float | None:
    if a is None or b is None or not b.rate:
        return None
    return a.rate / b.rate


# -- main ---------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measured phase")
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers for ledger serve")
    p.add_argument(
        "--database-url",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL server/database (no ?schema: fresh schemas are made per run)",
    )
    p.add_argument("--schools", type=int, default=200, help="hub schools, one grant each")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per phase")
    p.add_argument("--baseline-threads", type=int, default=16, help="threads/conns, (a) and (b)")
    p.add_argument("--inproc-threads", type=int, default=32, help="threads for (c)")
    p.add_argument(
        "--keep-logs",
        action="store_true",
        help="keep wrk outputs and server logs (always on alarm)",
    )
    return p.parse_args()


def preflight(args: argparse.Namespace) -> None:
    if "?" in args.database_url:
        sys.exit("--database-url must not carry a query: the benchmark picks its own schemas")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    if not (VENV_BIN / "ledger").exists():
        sys.exit(f"{VENV_BIN / 'ledger'} not found: run with the project's .venv/bin/python")


def _terminate(signum: int, _frame: object) -> None:
    # Turn SIGTERM into an exception so every finally block (server, schemas) runs.
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    args = parse_args()
    preflight(args)
    signal.signal(signal.SIGTERM, _terminate)
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    tag = f"{now.strftime('%Y%m%d_%H%M%S')}_{uuid.uuid4().hex[:4]}"
    ledger_schema, lib_schema, raw_schema = (f"bench_{tag}", f"bench_{tag}_lib", f"bench_{tag}_raw")
    schemas = [ledger_schema, lib_schema, raw_schema]
    base = args.database_url
    url = schema_url(base, ledger_schema)
    alarms = Alarms()
    figures: dict[str, Figure] = {}
    reconciliations: list[Reconciliation] = []
    catch_ups: dict[str, CatchUp] = {}
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="write-bench-"))
    load_at_start = os.getloadavg()[0]
    log(f"PostgreSQL {server_version(base)}; schemas {', '.join(schemas)}")
    log(f"load average {load_at_start:.2f} on {os.cpu_count()} CPUs before the run")
    create_schemas(base, schemas)
    reader: LedgerApplication | None = None
    try:
        reader = LedgerApplication(eventsourcing_env(url, pool_size=16))
        t0 = time.monotonic()
        sets = seed(reader, args.schools, tag)
        everything = [g for grants in sets.values() for g in grants]
        log(
            f"seeded 1 donor, {len(everything)} schools and grants "
            f"({args.schools} per set {', '.join(SPREAD_SETS)}, {WARMUP_GRANTS} warm-up, 1 hot) "
            f"in {time.monotonic() - t0:.1f}s"
        )

        log(f"(b) raw asyncpg, {args.baseline_threads} connections")
        figures["raw"] = raw_asyncpg(
            base, raw_schema, args.baseline_threads, args.warmup, args.duration
        )

        log(f"(a) bare eventsourcing library, {args.baseline_threads} threads")
        figures["lib"], missing = bare_library(
            base, lib_schema, args.baseline_threads, args.warmup, args.duration
        )
        if missing:
            alarms.raise_(f"bare library: stored events differ from saves by {missing}")

        servers: list[tuple[str, dict[str, str], list[HttpPhase]]] = [
            # label, extra environment, phases: (name, key, wrk -t, -c, grant set, seconds).
            # Warm-ups have grants of their own, so no measured phase inherits their events.
            (
                "as shipped (embedded projections)",
                {},
                [
                    ("http warm-up", "warmup", 2, 32, "warmup", args.warmup),
                    ("HTTP disburse c1", "http_c1", 1, 1, "c1", args.duration),
                    ("HTTP disburse c32", "http_c32", 2, 32, "c32", args.duration),
                    ("HTTP hot grant c32", "http_hot", 2, 32, "hot", args.duration),
                ],
            ),
        ]
        if PROJECTIONS_SWITCH:
            servers.append(
                (
                    "projections off",
                    {PROJECTIONS_SWITCH: "false"},
                    [
                        ("http warm-up (no proj.)", "warmup_np", 2, 32, "warmup", args.warmup),
                        ("HTTP c32, projections off", "http_c32_np", 2, 32, "c32np", args.duration),
                    ],
                )
            )
        for n, (label, extra_env, phases) in enumerate(servers):
            log(f"HTTP: ledger serve --workers {args.workers}, {label}")
            with ledger_server(url, args.workers, workdir / f"server-{n}.log", extra_env) as http:
                following = not extra_env
                if following:
                    catch_ups["server start"] = wait_projections(http)
                    log(f"projections caught up after start: {catch_ups['server start']}")
                for name, key, threads, conns, set_name, seconds in phases:
                    grants = sets[set_name]
                    log(f"{name}: wrk -t{threads} -c{conns} -d{max(1, round(seconds))}s")
                    before = total_disbursed(reader, grants)
                    run = run_wrk(http, grants, f"{tag}-{key}", threads, conns, seconds, workdir)
                    stopped = time.monotonic()
                    if following:
                        with httpx.Client(timeout=10.0, headers=BEARER) as client:
                            lag_at_stop, _ = projection_lag(client, http)
                    wait_until_quiet(reader)
                    recorded = (total_disbursed(reader, grants) - before) // AMOUNT
                    check_wrk(name, run, alarms)
                    # wrk calls request() once on thread 1 before the run to check the
                    # script; that request is never sent, hence the - 1.
                    in_flight = max(0, run.issued - 1 - run.requests)
                    reconciliations.append(reconcile(name, run.ok_2xx, recorded, in_flight, alarms))
                    if following:
                        # The next phase starts only once the read side is idle again.
                        catch_up = wait_projections(http)
                        catch_up.lag_at_start = lag_at_stop
                        catch_up.seconds = round(time.monotonic() - stopped, 2)
                        catch_ups[name] = catch_up
                    if not key.startswith("warmup"):
                        figures[key] = http_figure(name, threads, conns, run)
                        if following:
                            figures[key].detail["projections"] = asdict(catch_ups[name])
                        (workdir / f"{key}.wrk.txt").write_text(run.output)
        for when, catch_up in catch_ups.items():
            if catch_up.error and "answered 404" not in catch_up.error:
                alarms.raise_(f"projections status unknown after {when}: {catch_up.error}")
            elif catch_up.lag_at_end:
                alarms.raise_(
                    f"projections still {catch_up.lag_at_end} events behind "
                    f"{catch_up.seconds:.0f}s after {when}"
                )

        # In-process last: every event already in the log when a server starts is a
        # backlog its embedded projections must apply before the HTTP phases can start.
        log(f"(c) ledger in-process, {args.inproc_threads} threads")
        before = total_disbursed(reader, sets["inproc"])
        figures["inproc"], inproc = in_process(
            url, sets["inproc"], args.inproc_threads, args.warmup, args.duration, f"{tag}-ip"
        )
        wait_until_quiet(reader)
        recorded = (total_disbursed(reader, sets["inproc"]) - before) // AMOUNT
        reconciliations.append(reconcile("in-process", inproc.ok_total, recorded, 0, alarms))
        if inproc.failures:
            alarms.raise_(f"in-process: failed commands {dict(inproc.failures)}")

        hot_id = sets["hot"][0]
        versions = {
            name: [reader.get_grant(uuid.UUID(g)).version for g in grants]
            for name, grants in sets.items()
        }
        c32_typical = sets["c32"][0]
        history: dict[str, Any] = {
            "events_per_grant_at_end_median": {
                name: statistics.median(v) for name, v in versions.items()
            },
            "events_per_grant_at_end_max": {name: max(v) for name, v in versions.items()},
            # What one aggregate load costs, by history length: the ledger reads the
            # grant and the school account on every disbursement.
            "load_ms_c32_grant": round(load_ms(reader, c32_typical), 2),
            "load_ms_hot_grant": round(load_ms(reader, hot_id), 2),
            "events_c32_grant": reader.get_grant(uuid.UUID(c32_typical)).version,
            "events_hot_grant": reader.get_grant(uuid.UUID(hot_id)).version,
        }
        final_total = total_disbursed(reader, everything)
    finally:
        if reader is not None:
            reader.close()
        try:
            drop_schemas(base, schemas)
            log(f"dropped schemas {', '.join(schemas)}")
        except Exception as e:  # the run's figures are still worth printing
            alarms.raise_(f"could not drop schemas {schemas}: {e}")

    acknowledged = sum(r.acknowledged for r in reconciliations)
    recorded_total = sum(r.recorded for r in reconciliations)
    if final_total != recorded_total * AMOUNT:
        alarms.raise_(f"store total {final_total} != sum of phase deltas {recorded_total * AMOUNT}")

    order = ["http_c1", "http_c32", "http_hot", "http_c32_np", "inproc", "lib", "raw"]
    table = [figures[k] for k in order if k in figures]
    ratios = {
        "HTTP c32 / bare library": ratio(figures.get("http_c32"), figures.get("lib")),
        "HTTP c32 / raw asyncpg": ratio(figures.get("http_c32"), figures.get("raw")),
        "in-process / bare library": ratio(figures.get("inproc"), figures.get("lib")),
        "in-process / raw asyncpg": ratio(figures.get("inproc"), figures.get("raw")),
        "HTTP c32 / in-process": ratio(figures.get("http_c32"), figures.get("inproc")),
        "HTTP c32 no-proj / in-process": ratio(figures.get("http_c32_np"), figures.get("inproc")),
        "HTTP c32 / HTTP c32 no-proj": ratio(figures.get("http_c32"), figures.get("http_c32_np")),
        "HTTP c32 / HTTP c1": ratio(figures.get("http_c32"), figures.get("http_c1")),
        "HTTP hot c32 / HTTP c32": ratio(figures.get("http_hot"), figures.get("http_c32")),
        "bare library / raw asyncpg": ratio(figures.get("lib"), figures.get("raw")),
    }
    print()
    print(
        f"== write benchmark {stamp}  ({os.cpu_count()} CPUs, {args.duration:g}s per phase, "
        f"load average {load_at_start:.2f} before / {os.getloadavg()[0]:.2f} after)"
    )
    if load_at_start > 0.5 * (os.cpu_count() or 1):
        print(
            "   note: the machine was already busy before the run; other work shifts "
            "between phases skews the ratios too. Compare several runs."
        )
    print_table(table)
    print()
    print("ratios (same run):")
    for name, value in ratios.items():
        print(f"  {name:<30} {fmt(value, 3):>8}")
    print()
    c = figures["inproc"].detail["committer"]
    print(
        f"group commit (in-process): {c['transactions']:,} transactions for "
        f"{c['commands']:,} commands (mean batch {c['mean_batch']}, largest "
        f"{c['largest_batch']}, conflicts {c['conflicts']})"
    )
    medians = history["events_per_grant_at_end_median"]
    print(
        "events per grant at the end (median): "
        + ", ".join(f"{k} {v:g}" for k, v in medians.items())
    )
    print(
        f"one grant load (full replay): {history['load_ms_c32_grant']:.2f} ms at "
        f"{history['events_c32_grant']} events, {history['load_ms_hot_grant']:.2f} ms at "
        f"{history['events_hot_grant']} events (hot grant)"
    )
    if catch_ups:
        print("embedded projections (lag when the load stopped -> read side idle again):")
        for when, cu in catch_ups.items():
            if cu.lag_at_start is None:
                print(f"  after {when:<26} unknown: {cu.error}")
                continue
            print(
                f"  after {when:<26} lag {cu.lag_at_start:>7,} events -> "
                f"idle within {cu.seconds:.1f}s"
            )
    print()
    print("correctness (disbursed in the store vs acknowledged):")
    for r in reconciliations:
        print(
            f"  {r.phase:<26} acknowledged {r.acknowledged:>7,}  recorded {r.recorded:>7,}  "
            f"in flight at stop {r.in_flight_at_stop:>3}  -> {r.verdict}"
        )
    print(
        f"  {'total':<26} acknowledged {acknowledged:>7,}  recorded {recorded_total:>7,}  "
        f"store sum {final_total:,} tiyn = {final_total // AMOUNT:,} x {AMOUNT}"
    )

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"write-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "timestamp": now.isoformat(),
                "host": {
                    "cpus": os.cpu_count(),
                    "loadavg_1m_before": load_at_start,
                    "loadavg_1m_after": os.getloadavg()[0],
                    "python": platform.python_version(),
                    "postgres": server_version(base),
                },
                "config": {k: v for k, v in vars(args).items() if k != "database_url"},
                "amount_per_disbursement": AMOUNT,
                "figures": {k: asdict(f) for k, f in figures.items()},
                "ratios": ratios,
                "aggregate_history": history,
                "projections_catch_up": {k: asdict(v) for k, v in catch_ups.items()},
                "correctness": {
                    "phases": [asdict(r) for r in reconciliations],
                    "acknowledged": acknowledged,
                    "recorded": recorded_total,
                    "store_total_disbursed": final_total,
                },
                "alarms": alarms.items,
                "runtime_seconds": round(time.monotonic() - started, 1),
            },
            indent=2,
        )
    )
    print(f"\nwrote {out.relative_to(ROOT)}")
    print(f"total runtime {time.monotonic() - started:.0f}s")
    if args.keep_logs or alarms.items:
        # Kept when something went wrong: the server log says why.
        print(f"wrk outputs, Lua scripts and server logs kept in {workdir}")
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
        # The finally blocks have stopped the server and dropped the schemas by now.
        print(f"\ninterrupted ({e or 'Ctrl-C'}); server stopped, schemas dropped", file=sys.stderr)
        sys.exit(130)
