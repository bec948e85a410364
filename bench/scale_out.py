"""Scale-out on one machine: 3 API processes and 2 projection processes on one PostgreSQL.

What production runs as pods, run here as processes against a schema of its own:

1. ``ledger db upgrade`` (the Kubernetes Job), then 3 x ``ledger serve --no-projections``
   on different ports and 2 x ``ledger projections run`` (one active, one standby);
2. throughput: the same disbursement load through one API, then spread over all three;
3. chaos: concurrent disbursements through all three APIs with idempotent retries
   (same key, next API) on connection errors and 5xx, while the active projection
   process and then one API process are killed with SIGKILL;
4. checks: every acknowledged command is in the log exactly once (by idempotency key,
   with the acknowledged entry id), no refused or lost command is, no grant is
   overdrawn and each grant's disbursed total is exactly what was acknowledged, the
   standby took over, and ``ledger projections verify`` finds the read models equal to
   a replay of the log.

    .venv/bin/python -m bench.scale_out [--database-url postgresql://...] [--requests 600]

Exits 1 if a check fails. tests/deploy/test_scale_out.py runs it in CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from bench.scale_out_parts import (
    DONOR,
    Client,
    Database,
    Proc,
    Tally,
    _cluster,
    _drive,
    _setup_grants,
    request_headers,
)
from ledger.infrastructure.settings import Settings
from server.bootstrap import build_ledger

DEFAULT_URL = os.environ.get(
    "LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


# -- the run -----------------------------------------------------------------------------


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    single_rps: float = 0.0
    three_rps: float = 0.0
    sticky_rps: float = 0.0
    takeover_seconds: float | None = None

    def say(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)

    def check(self, ok: bool, what: str) -> None:
        self.say(f"  [{'ok' if ok else 'FAIL'}] {what}")
        if not ok:
            self.failures.append(what)


def run(database_url: str = DEFAULT_URL, *, requests: int = 600, threads: int = 12) -> Report:
    report = Report()
    db = Database(database_url)
    report.say(f"scale-out: 3 API + 2 projection processes, PostgreSQL schema {db.schema}")
    try:
        with _cluster(db) as (apis, projections):
            _scenario(db, apis, projections, requests, threads, report)
    finally:
        db.drop()
    return report


def _scenario(
    db: Database, apis: list[Proc], projections: list[Proc], requests: int, threads: int,
    report: Report,
) -> None:  # fmt: skip
    tally = Tally()
    client = Client(apis, tally)
    r = client.post("/v1/donors", {"code": DONOR, "name": "Scale-out donor"},
                    key="so-donor-0001", prefer=0)  # fmt: skip
    assert r.status_code == 201, r.text

    # Throughput: ample commitments (nothing refused), the same load through 1, then 3 APIs.
    # Round robin sends a grant's commands to different APIs: each API's cached copy is then
    # often stale (another process wrote), the commit meets a version conflict and the
    # command is decided again on fresh state. Routing by grant keeps each cache current.
    big = 10**12
    grants = _setup_grants(client, 96, big, "tp")
    warm = _drive(client, grants, 60, threads, 3, (100, 1_000))  # imports, caches, pools
    single = _drive(client, grants, requests // 2, threads, 1, (100, 1_000))
    three = _drive(client, grants, requests // 2, threads, 3, (100, 1_000))
    sticky = _drive(client, grants, requests // 2, threads, 3, (100, 1_000), by_grant=True)
    report.sticky_rps = requests // 2 / sticky
    report.single_rps = requests // 2 / single
    report.three_rps = requests // 2 / three
    report.say(f"throughput, {requests // 2} disbursements, {threads} client threads each"
               f" (warm-up {warm:.1f}s):")  # fmt: skip
    report.say(f"  1 API : {report.single_rps:7.1f} commands/s")
    report.say(f"  3 APIs, round robin: {report.three_rps:7.1f} commands/s"
               f"  (x{report.three_rps / report.single_rps:.2f}; {os.cpu_count()} CPUs,"
               f" load average {os.getloadavg()[0]:.1f}, client in the same machine)")  # fmt: skip
    report.say(f"  3 APIs, each grant routed to one API: {report.sticky_rps:7.1f} commands/s"
               f"  (x{report.sticky_rps / report.single_rps:.2f})")  # fmt: skip

    # Chaos: tight commitments (refusals happen), kills mid-stream.
    tight = _setup_grants(client, 12, 1_000_000, "chaos")
    leader = db.leader_app_name()
    report.check(leader is not None, f"one projection process holds the runner lock ({leader})")
    active = next(p for p in projections if leader == f"scale-out-{p.name}")
    standby = next(p for p in projections if p is not active)
    killed: dict[str, float] = {}

    def on_progress(i: int) -> None:
        if i == requests // 3 and "projections" not in killed:
            killed["projections"] = time.monotonic()
            active.kill9()
        if i == requests // 2 and "api" not in killed:
            killed["api"] = time.monotonic()
            apis[2].kill9()

    takeover: list[float] = []

    def watch_takeover() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if "projections" in killed and db.leader_app_name() == f"scale-out-{standby.name}":
                takeover.append(time.monotonic() - killed["projections"])
                return
            time.sleep(0.05)

    before = (len(tally.acked), tally.replayed, len(tally.refused))
    watcher = threading.Thread(target=watch_takeover)
    watcher.start()
    chaos = _drive(client, tight, requests, threads, 3, (20_000, 120_000), on_progress)
    watcher.join()
    report.say(f"chaos: {requests} disbursements through 3 APIs in {chaos:.1f}s;"
               f" killed -9 {active.name} (active) and {apis[2].name} mid-stream")  # fmt: skip
    report.say(f"  acknowledged {len(tally.acked) - before[0]} (of which replayed after a"
               f" retry {tally.replayed - before[1]}), refused {len(tally.refused) - before[2]},"
               f" unanswered"
               f" {len(tally.lost)}; retries: {tally.transport_retries} connection,"
               f" {tally.server_retries} 5xx")  # fmt: skip
    report.takeover_seconds = takeover[0] if takeover else None
    report.check(bool(takeover) and takeover[0] < 15,
                 f"standby {standby.name} took the lock {takeover[0] if takeover else -1:.2f}s"
                 " after the kill")  # fmt: skip
    report.check(not apis[2].alive() and not active.alive(), "the killed processes are gone")
    report.check(len(tally.refused) > 0, "some disbursements were refused (grants ran dry)")
    report.check(not tally.lost, "every command got an answer")
    _checks(db, apis[:2], standby, tally, grants + tight, report)


def _checks(
    db: Database, apis: list[Proc], runner: Proc, tally: Tally, grants: list[str],
    report: Report,
) -> None:  # fmt: skip
    report.say("checks:")
    # The log, read as an auditor would: every disbursement event by its idempotency key.
    # Reads only: the served ledger on the upgraded schema, which it must not create.
    ledger = build_ledger(Settings(database_url=db.url, pool_size=2), env={"CREATE_TABLE": "n"})
    try:
        seen: Counter[str] = Counter()
        entry_of: dict[str, str] = {}
        for n in ledger.recorder.select_notifications(start=1, limit=10**9):
            event = ledger.mapper.to_domain_event(n)
            if type(event).__qualname__ == "Grant.Disbursed":
                key = str(event.idempotency_key)  # type: ignore[attr-defined]
                seen[key] += 1
                entry_of[key] = str(event.entry_id)  # type: ignore[attr-defined]
    finally:
        ledger.close()
    twice = [k for k, c in seen.items() if c > 1]
    missing = [k for k in tally.acked if seen[k] != 1]
    wrong_entry = [k for k, (_, _, e) in tally.acked.items() if entry_of.get(k) != e]
    report.check(not twice, f"no idempotency key twice in the log ({len(seen)} disbursements)")
    report.check(
        not missing, f"every acknowledged disbursement in the log once ({len(missing)} not)"
    )
    report.check(not wrong_entry, "each with the entry id the client was given")
    report.check(not any(k in seen for k in tally.refused), "no refused disbursement in the log")
    unacked = set(seen) - set(tally.acked)
    report.check(unacked <= tally.lost, "nothing in the log that was not acknowledged")

    acked_per_grant: Counter[str] = Counter()
    for grant, amount, _ in tally.acked.values():
        acked_per_grant[grant] += amount
    overdrawn, mismatched = [], []
    with httpx.Client(timeout=30) as http:
        for grant in grants:
            g = http.get(
                f"{apis[0].base}/v1/grants/{grant}", headers=request_headers("read-only")
            ).json()
            if g["disbursed"] > g["committed"] or g["undisbursed"] < 0:
                overdrawn.append(grant)
            if g["disbursed"] != acked_per_grant[grant]:
                mismatched.append(grant)
    report.check(not overdrawn, f"no grant overdrawn ({len(grants)} grants)")
    report.check(not mismatched, "each grant's disbursed total equals the acknowledged amounts")

    deadline = time.monotonic() + 60
    while (pos := db.positions())[0] < pos[1] and time.monotonic() < deadline:
        time.sleep(0.2)
    caught_up = f"the surviving projection process caught up (position {pos[0]} of {pos[1]})"
    report.check(pos[0] == pos[1] and runner.alive(), caught_up)
    verify = subprocess.run(
        [sys.executable, "-m", "server.cli", "projections", "verify", "--database-url", db.url],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    report.check(verify.returncode == 0,
                 "ledger projections verify: read models equal a replay from scratch"
                 + ("" if verify.returncode == 0 else f"\n{verify.stdout[-2000:]}"))  # fmt: skip
    # The hash chain was extended by both projection processes across the kill -9:
    # recomputed from the raw log, it must agree link for link.
    audit = subprocess.run(
        [sys.executable, "-m", "server.cli", "audit", "verify", "--database-url", db.url],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    report.check(audit.returncode == 0,
                 "ledger audit verify: the hash chain agrees with the raw log across failover"
                 + ("" if audit.returncode == 0 else f"\n{audit.stdout[-2000:]}"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--threads", type=int, default=12)
    args = parser.parse_args()
    started = dt.datetime.now(dt.UTC)
    report = run(args.database_url, requests=args.requests, threads=args.threads)
    took = (dt.datetime.now(dt.UTC) - started).total_seconds()
    print(f"{'FAILED' if report.failures else 'passed'} in {took:.0f}s")
    sys.exit(1 if report.failures else 0)


if __name__ == "__main__":
    main()
