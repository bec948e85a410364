"""Pieces of bench/scale_out.py: the processes, the database, and the retrying client."""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.harness.db import drop_schemas, schema_url
from bench.harness.server import SECRET, free_port, mint
from projections.leader import _lock_key

ACTOR = "scale-out"
DONOR = "scale-out-donor"


# The harness's per-run HS256 secret goes to every process started here; the client
# signs with it.


@functools.cache
def _token() -> str:
    return mint(ACTOR, ["officer", "approver", "auditor"], hours=2)


def request_headers(key: str) -> dict[str, str]:
    """Every request's headers, built here only: the idempotency key and a bearer token."""
    return {"Idempotency-Key": key, "Authorization": f"Bearer {_token()}"}


# -- processes ---------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    port: int | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)


LOGS = Path(tempfile.gettempdir()) / "ledger-scale-out"


def _ledger(
    args: list[str], env: dict[str, str] | None = None, *, log: str
) -> subprocess.Popen[bytes]:
    LOGS.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=(LOGS / f"{log}.log").open("wb"),
        # As in production: only `ledger db upgrade` creates tables.
        env={
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "LEDGER_CREATE_TABLE": "n",
            "LEDGER_JWT_SECRET": SECRET,
            **(env or {}),
        },
    )


def _wait_healthy(api: Proc, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not api.alive():
            tail = (LOGS / f"{api.name}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{api.name} exited with {api.popen.returncode}:\n{tail}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{api.base}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{api.name} did not become healthy in {timeout}s")


# -- the database ------------------------------------------------------------------------


class Database:
    def __init__(self, base_url: str) -> None:
        self.base = base_url.split("?", maxsplit=1)[0]
        self.schema = f"scale_out_{uuid.uuid4().hex[:10]}"
        self.url = schema_url(self.base, self.schema)
        key = _lock_key(self.schema) & 0xFFFFFFFFFFFFFFFF
        # pg_locks splits a bigint advisory key into two oids.
        self._lock_ids = (key >> 32, key & 0xFFFFFFFF)

    def drop(self) -> None:
        drop_schemas(self.base, [self.schema])

    def leader_app_name(self) -> str | None:
        """application_name of the session holding the projection runner's lock."""
        with psycopg.connect(self.base, autocommit=True) as conn:
            row = conn.execute(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                " WHERE l.locktype = 'advisory' AND l.granted"
                " AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.objsubid = 1",
                self._lock_ids,
            ).fetchone()
        return None if row is None else str(row[0])

    def positions(self) -> tuple[int, int]:
        """(projection position, log head)."""
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{self.schema}"')
            gen = conn.execute("SELECT generation FROM rm_active").fetchone()
            assert gen is not None
            pos = conn.execute(f"SELECT position FROM rm{int(gen[0])}_tracking").fetchone()
            head = conn.execute("SELECT coalesce(max(notification_id), 0) FROM ledger_events")
            head_row = head.fetchone()
        assert pos is not None and head_row is not None
        return int(pos[0]), int(head_row[0])


# -- the client --------------------------------------------------------------------------


@dataclass
class Tally:
    acked: dict[str, tuple[str, int, str]] = field(default_factory=dict)  # key: grant, amt, entry
    refused: dict[str, tuple[str, int]] = field(default_factory=dict)
    lost: set[str] = field(default_factory=set)  # never answered, even after retries
    replayed: int = 0
    transport_retries: int = 0
    server_retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    """Sends each command until it gets an answer: same key, next live API on failure."""

    def __init__(self, apis: list[Proc], tally: Tally) -> None:
        self.apis = apis
        self.tally = tally
        self._local = threading.local()

    def _http(self) -> httpx.Client:
        if not hasattr(self._local, "client"):
            self._local.client = httpx.Client(timeout=30)
        client: httpx.Client = self._local.client
        return client

    def post(self, path: str, body: dict[str, Any], *, key: str, prefer: int) -> httpx.Response:
        http = self._http()
        for attempt in range(40):
            api = self.apis[(prefer + attempt) % len(self.apis)]
            try:
                r = http.post(f"{api.base}{path}", json=body, headers=request_headers(key))
            except httpx.TransportError:
                with self.tally.lock:
                    self.tally.transport_retries += 1
                time.sleep(0.05)
                continue
            if r.status_code >= 500:
                with self.tally.lock:
                    self.tally.server_retries += 1
                time.sleep(0.05)
                continue
            return r
        raise RuntimeError(f"no answer for {key} after 40 attempts")

    def disburse(self, grant: str, amount: int, *, prefer: int) -> None:
        key = f"so-{uuid.uuid4().hex}"
        body = {
            "amount": amount,
            "value_date": "2025-04-01",
            "payment_reference": f"PP-{key[3:19]}",
        }
        try:
            r = self.post(f"/v1/grants/{grant}/disbursements", body, key=key, prefer=prefer)
        except RuntimeError:
            with self.tally.lock:
                self.tally.lost.add(key)
            return
        with self.tally.lock:
            if r.status_code == 201:
                self.tally.acked[key] = (grant, amount, r.json()["entry_id"])
                self.tally.replayed += r.headers.get("Idempotent-Replayed") == "true"
            elif r.status_code == 409 and "exceeds" in r.json().get("type", ""):
                self.tally.refused[key] = (grant, amount)
            else:
                raise AssertionError(f"unexpected {r.status_code}: {r.text}")


def _setup_grants(client: Client, n: int, committed: int, tag: str) -> list[str]:
    grants = []
    for i in range(n):
        school = f"so-{tag}-{i:03d}"
        r = client.post(
            "/v1/schools",
            {"code": school, "name": f"School {school}", "school_type": "hub",
             "region": "aktobe", "district": "Khromtau"},
            key=f"so-school-{school}", prefer=0,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        r = client.post(
            "/v1/grants",
            {"donor": DONOR, "school": school, "amount": committed,
             "value_date": "2025-03-01", "reference": f"AGR-{tag}-{i:03d}"},
            key=f"so-grant-{school}", prefer=0,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        grants.append(str(r.json()["grant_id"]))
    return grants


def _drive(
    client: Client,
    grants: list[str],
    requests: int,
    threads: int,
    apis: int,
    amounts: tuple[int, int],
    on_progress: Callable[[int], None] | None = None,
    *,
    by_grant: bool = False,
) -> float:
    """Send ``requests`` disbursements from ``threads`` threads; returns elapsed seconds."""
    counter = itertools.count()
    rng = random.Random(42)
    plan = [(rng.choice(grants), rng.randint(*amounts)) for _ in range(requests)]

    def worker(t: int) -> None:
        while (i := next(counter)) < requests:
            grant, amount = plan[i]
            # by_grant: a grant's commands always reach the same API first (as an ingress
            # hashing on the path would), so its cached aggregates stay current.
            prefer = grants.index(grant) % apis if by_grant else t % apis
            client.disburse(grant, amount, prefer=prefer)
            if on_progress is not None:
                on_progress(i)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(worker, t) for t in range(threads)]:
            f.result()
    return time.perf_counter() - started


# -- the cluster of processes ----------------------------------------------------------


def _start_api(db: Database, i: int) -> Proc:
    port = free_port()
    args = ["serve", "--no-projections", "--port", str(port), "--database-url", db.url]
    return Proc(f"api-{i}", _ledger(args, log=f"api-{i}"), port)


@contextlib.contextmanager
def _cluster(db: Database) -> Iterator[tuple[list[Proc], list[Proc]]]:
    upgrade = subprocess.run(
        [sys.executable, "-m", "server.cli", "db", "upgrade", "--database-url", db.url],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if upgrade.returncode != 0:
        raise RuntimeError(f"db upgrade failed: {upgrade.stderr}")
    procs: list[Proc] = []
    try:
        apis = [_start_api(db, i) for i in range(3)]
        procs += apis
        projections = []
        for i in range(2):
            # The session name shows which process holds the runner lock (pg_stat_activity).
            env = {"PGAPPNAME": f"scale-out-projections-{i}"}
            args = ["projections", "run", "--database-url", db.url]
            projections.append(Proc(f"projections-{i}", _ledger(args, env, log=f"projections-{i}")))
        procs += projections
        for i in range(len(apis)):
            for attempt in range(3):
                api = apis[i]
                try:
                    _wait_healthy(api)
                    break
                except RuntimeError as e:
                    # The port was free when picked, but other processes on a shared
                    # machine may take it before the server binds: start on another.
                    if attempt == 2 or api.alive():
                        raise
                    print(f"{api.name} failed to start, retrying: {e}", file=sys.stderr)
                    apis[i] = _start_api(db, i)
                    procs.append(apis[i])
        deadline = time.monotonic() + 60
        while db.leader_app_name() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        yield apis, projections
    finally:
        for p in procs:
            if p.alive():
                p.popen.terminate()
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.popen.wait(timeout=15)
            if p.alive():
                p.kill9()
