"""Several uvicorn workers: every scrape sees the whole server's counters."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_JWT_SECRET, token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _posts_counted(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "ledger_http_requests_total" and s.labels == {
                "route": "/v1/donors",
                "method": "POST",
                "status_class": "2xx",
            }:
                return s.value
    return 0.0


def test_two_workers_aggregate_metrics(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["LEDGER_JWT_SECRET"] = TEST_JWT_SECRET
    bearer = {"Authorization": f"Bearer {token()}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--workers", "2", "--port", str(port),
         "--database-url", f"sqlite:///{tmp_path}/ledger.sqlite3"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
            for n in range(20):
                # A connection per request, so both workers record some of them.
                with httpx.Client(base_url=base, timeout=10) as once:
                    answer = once.post(
                        "/v1/donors",
                        json={"code": f"donor-{n:02d}", "name": "D"},
                        headers={"Idempotency-Key": f"multiproc-{n:04d}", **bearer},
                    )
                assert answer.status_code == 201, answer.text
            # New connections spread the scrapes over the workers; each sees all 20.
            seen = []
            for _ in range(6):
                with httpx.Client(base_url=base, timeout=10) as fresh:
                    seen.append(_posts_counted(fresh.get("/metrics", headers=bearer).text))
            assert seen == [20.0] * 6
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
