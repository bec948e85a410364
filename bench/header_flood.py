"""Unterminated-header flood against a served ``ledger serve``: server memory before/after.

Starts ``ledger serve`` (SQLite in a temp folder, whatever code this interpreter imports)
on a free loopback port, opens ``--connections`` sockets that each send ``--megabytes``
of one header line that never ends, without a token, and prints the server's resident
memory before and after as a ratio, with what each connection got back.

    .venv/bin/python bench/header_flood.py --connections 4 --megabytes 100
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def flood(port: int, megabytes: int, answers: list[str]) -> None:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sent = 0
    try:
        sock.sendall(b"GET /v1/journal HTTP/1.1\r\nHost: x\r\nX-Junk: ")
        chunk = b"a" * 65536
        while sent < megabytes * 1024 * 1024:
            sock.sendall(chunk)
            sent += len(chunk)
        answer = sock.recv(200)
        answers.append(f"sent {sent >> 20} MB, got {answer[:40]!r}")
    except OSError as e:
        try:
            answer = sock.recv(200)
        except OSError:
            answer = b""
        answers.append(f"cut after {sent >> 20} MB ({type(e).__name__}), got {answer[:40]!r}")
    finally:
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--megabytes", type=int, default=100)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="ledger-flood-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": f"sqlite:///{folder}/ledger.sqlite3",
        "LEDGER_JWT_SECRET": "bench-secret-for-the-header-flood-0123456789",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        before = rss_mb(proc.pid)
        answers: list[str] = []
        threads = [
            threading.Thread(target=flood, args=(port, args.megabytes, answers))
            for _ in range(args.connections)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        after = rss_mb(proc.pid)
        print(f"server RSS before {before:.0f} MB, after {after:.0f} MB ({after / before:.2f}x)")
        for answer in answers:
            print(" ", answer)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
