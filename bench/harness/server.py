"""``ledger serve`` as a subprocess with a per-run HS256 secret, its readiness, its
projection lag, and its shutdown as one process group."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from bench.harness.core import ROOT, VENV_BIN, log
from ledger.infrastructure.keys import load_key_material, mint_token
from ledger.infrastructure.settings import Settings

ACTOR = "bench"
DONOR = "bench-donor"  # every benchmark's donor; the readiness probe asks for it

# The servers a run starts verify tokens signed with a secret made for that run only.
SECRET = secrets.token_urlsafe(48)


def mint(subject: str, roles: list[str], hours: float = 12) -> str:
    """A bearer token the run's servers accept (signed with the run's secret)."""
    keys = load_key_material(Settings(jwt_secret=SecretStr(SECRET)))
    return mint_token(keys, subject, roles, dt.timedelta(hours=hours))


TOKEN = mint(ACTOR, ["officer", "auditor"])
AUTHORIZATION = f"Bearer {TOKEN}"
BEARER = {"Authorization": AUTHORIZATION}


# A scraper's token: /metrics tells how many requests a server is still answering.
SCRAPER = {"Authorization": f"Bearer {mint('bench-scraper', ['metrics'])}"}


def client(timeout: float = 10.0) -> httpx.Client:
    """An HTTP client that authenticates as the benchmark's actor."""
    return httpx.Client(timeout=timeout, headers=BEARER)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base: str
    pid: int


@contextlib.contextmanager
def ledger_server(
    url: str,
    workers: int,
    logfile: Path,
    extra_env: dict[str, str] | None = None,
    ready_path: str = f"/v1/donors/{DONOR}",
) -> Iterator[Server]:
    """``ledger serve`` on a free port until the block ends; yields its URL and pid."""
    port = free_port()
    command = [str(VENV_BIN / "ledger"), "serve", "--database-url", url]
    command += ["--port", str(port), "--workers", str(workers)]
    if (extra_env or {}).get("LEDGER_RUN_PROJECTIONS") == "false":
        # `ledger serve` sets LEDGER_RUN_PROJECTIONS from its own flag, over the environment.
        command.append("--no-projections")
    with serving(command, port, logfile, extra_env, ready_path) as server:
        yield server


@contextlib.contextmanager
def standin_server(workers: int, logfile: Path) -> Iterator[Server]:
    """The in-memory FastAPI stand-in (bench/standin.py), served as ``ledger serve`` is."""
    port = free_port()
    command = [str(VENV_BIN / "python"), "-m", "bench.standin", "--port", str(port)]
    command += ["--workers", str(workers)]
    with serving(command, port, logfile, None, f"/v1/donors/{DONOR}") as server:
        yield server


@contextlib.contextmanager
def serving(
    command: list[str],
    port: int,
    logfile: Path,
    extra_env: dict[str, str] | None,
    ready_path: str,
) -> Iterator[Server]:
    """Run ``command`` (a server on ``port``) as a process group until the block ends."""
    with logfile.open("wb") as out:
        # Its own session, so the uvicorn supervisor and its workers die as one group.
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
            env={**os.environ, "LEDGER_JWT_SECRET": SECRET, **(extra_env or {})},
        )
    base = f"http://127.0.0.1:{port}"
    try:
        began = time.monotonic()
        wait_ready(proc, base + ready_path, logfile)
        name = " ".join(a for a in command[1:3] if not a.startswith("-"))
        log(f"{name} answering on {base} after {time.monotonic() - began:.1f}s")
        yield Server(base, proc.pid)
    finally:
        stop_process_group(proc)


def wait_ready(proc: subprocess.Popen[bytes], probe: str, logfile: Path) -> None:
    deadline = time.monotonic() + 60
    consecutive = 0
    with client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = logfile.read_text(errors="replace")[-3000:]
                msg = f"ledger serve exited with {proc.returncode}:\n{tail}"
                raise RuntimeError(msg)
            try:
                ok = http.get(probe).status_code == 200
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


def projection_lag(http: httpx.Client, base: str) -> tuple[int | None, str | None]:
    """Events the server's read models are behind the log (its own status route).

    Returns (lag, None), or (None, why) when the route is missing, fails or answers
    in another shape: the read side is context for a write benchmark, not a verdict.
    """
    try:
        answer = http.get(f"{base}/v1/projections/status")
        if answer.status_code != 200:
            return None, f"status route answered {answer.status_code}: {answer.text[:200]}"
        body = answer.json()
        items = body.get("projections", [body]) if isinstance(body, dict) else []
        lags = [int(p["lag_events"]) for p in items if isinstance(p, dict) and "lag_events" in p]
    except (httpx.HTTPError, ValueError, TypeError, KeyError) as e:
        return None, f"status route failed: {e!r}"
    return (max(lags), None) if lags else (None, "status route has no lag_events")


def wait_answered(base: str, limit: float = 120.0, poll: float = 0.25) -> int | None:
    """Wait until the server answers nothing but this scrape; the last count seen.

    wrk stops with requests in flight and the server still finishes them (a batch can
    take seconds): a phase's store totals are read only once they are all answered.
    """
    deadline = time.monotonic() + limit
    count: int | None = None
    with httpx.Client(timeout=10.0, headers=SCRAPER) as http:
        while time.monotonic() < deadline:
            try:
                text = http.get(f"{base}/metrics").text
            except httpx.HTTPError:
                return None
            found = [
                float(line.split()[-1])
                for line in text.splitlines()
                if line.startswith("ledger_http_requests_in_flight")
            ]
            if not found:
                return None
            count = int(sum(found))
            if count <= 1:  # this scrape itself
                return count
            time.sleep(poll)
    return count


@dataclass
class CatchUp:
    lag_at_start: int | None
    seconds: float
    lag_at_end: int | None
    error: str | None = None


def wait_projections(base: str, limit: float = 120.0, poll: float = 0.2) -> CatchUp:
    """Wait until the embedded projections have applied the whole log.

    Each phase must start with the read side idle; otherwise it pays for the
    previous phase's backlog and the phases are no longer comparable.
    """
    began = time.monotonic()
    first: int | None = None
    lag: int | None = None
    error: str | None = None
    failures = 0
    with client() as http:
        while time.monotonic() - began < limit:
            lag, error = projection_lag(http, base)
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
            time.sleep(poll)
    return CatchUp(first, round(time.monotonic() - began, 2), lag, error)


# -- what a server process group uses ----------------------------------------------


def group_pids(pgid: int) -> list[int]:
    """The processes of a server's group: uvicorn's supervisor and its workers."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            found.append(int(entry.name))
    return sorted(found)


def cpu_seconds(pgid: int) -> float:
    """User + system CPU time used so far by every process of the group."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in group_pids(pgid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def rss_mb(pgid: int) -> dict[int, float]:
    """Resident memory (MB) of each process of the group, by pid."""
    out = {}
    for pid in group_pids(pgid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                out[pid] = int(line.split()[1]) / 1024
    return out
