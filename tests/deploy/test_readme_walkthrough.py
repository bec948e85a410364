"""The README's curl walk-through does what it says, on the setup it tells you to use."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Walk-through with curl", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match is not None, "the walk-through has no bash block"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _head(port: int, token: str) -> int:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/projections/status",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return int(json.load(r)["projections"][0]["log_head"])


def test_the_walkthrough_runs_as_written_on_the_demo(tmp_path: Path) -> None:
    if not (ROOT / ".venv" / "bin" / "ledger").exists():
        pytest.fail("the README's commands use .venv/bin/ledger: run ./scripts/bootstrap.sh")
    port = _free_port()
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.sqlite3",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--demo", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
        script = _walkthrough().replace("http://127.0.0.1:8000", f"http://127.0.0.1:{port}")

        def run() -> str:
            done = subprocess.run(
                ["bash", "-c", "set -euo pipefail\n" + script],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        out = run()
        steps = [
            r'"code":"ulytau-karsakpay-hub"',  # 1. registered
            rf"grant ({UUID})",  # 2. committed
            r'"entry_id":"[0-9a-f-]{36}","position":\d+,"grant_id"',  # 3. posted
            rf"pending ({UUID})",  # 4. waiting for a second person
            r"problem:self-approval-forbidden",  # 5. the maker cannot approve
            r'"status":"approved"',  # ... a second person can
            r"problem:exceeds-undisbursed-commitment",  # 6. overdraw refused
            r"(?i)idempotent-replayed: true",  # 7. the retry replays
            r'"committed":25000000000,"disbursed":14000000000,"undisbursed":11000000000',  # 8.
            r'"received":14000000000,"outstanding_commitment":11000000000',
            r'"cash_on_hand":14000000000',
            r"HTTP/1.1 401",  # 9. no token
            r"(?i)www-authenticate: Bearer",
        ]
        at = 0
        for step in steps:
            found = re.compile(step).search(out, at)
            assert found is not None, f"{step!r} not found after offset {at} in:\n{out}"
            at = found.end()

        # Run again: every recording replays, nothing is recorded twice.
        token = subprocess.run(
            [sys.executable, "-m", "server.cli", "token", "--role", "auditor", "--sub", "check"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        before = _head(port, token)
        again = run()
        assert re.search(rf"grant ({UUID})", again).group(1) == re.search(  # type: ignore[union-attr]
            rf"grant ({UUID})", out
        ).group(1)  # type: ignore[union-attr]
        assert "problem:not-pending" in again
        assert _head(port, token) == before
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()
