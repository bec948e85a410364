"""PostgreSQL connections one server process holds: idle, and under 16 concurrent reads.

Counts this process's established sockets to port 5432 (via /proc), with one app on a
fresh schema (created and dropped). Run: .venv/bin/python -m bench.pg_connections
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient

from server.app import create_app
from tests.conftest import PG_URL, app_settings, token


def pg_sockets() -> int:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(
        1
        for f in (line.split() for line in lines)
        if f[2].endswith(":1538") and f[3] == "01" and f[9] in inodes
    )


def main() -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    base = PG_URL.split("?")[0]
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"{base}?schema={schema}"
        # The app builds its own ledger through the composition root, as `ledger serve` does.
        app = create_app(app_settings(url, pool_size=10))
        auth = {"Authorization": f"Bearer {token()}"}
        with TestClient(app, headers=auth) as client:
            time.sleep(3)
            idle = pg_sockets()
            stop = threading.Event()

            def load() -> None:
                while not stop.is_set():
                    client.get("/v1/balances/accounts")

            threads = [threading.Thread(target=load) for _ in range(16)]
            for t in threads:
                t.start()
            peak = 0
            for _ in range(30):
                time.sleep(0.1)
                peak = max(peak, pg_sockets())
            stop.set()
            for t in threads:
                t.join()
        print(f"idle={idle} peak_under_16_concurrent_reads={peak}")
    finally:
        with psycopg.connect(base, autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
