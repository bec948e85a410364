"""CPU seconds a phase costs: this process, its children, and the PostgreSQL backends
serving this process's connections.

On a shared machine a phase's wall time mostly measures what else is running; the CPU it
burns, in the client and in the database, is steadier. Backends are found by matching
this process's TCP sockets to ``pg_stat_activity.client_port`` (Linux ``/proc``), so a
connection opened and closed inside the phase is missed: pools keep theirs.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from types import TracebackType

import psycopg

_TICKS = os.sysconf("SC_CLK_TCK")


def _socket_ports() -> set[int]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as f:
            for line in f.read().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _process_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


_conns: dict[str, psycopg.Connection[tuple[int, int]]] = {}


def backend_cpu(database_url: str) -> dict[int, float]:
    """CPU seconds so far of each backend serving one of this process's connections."""
    # One connection kept for every reading: the server's connections are shared with
    # everything else on the machine.
    conn = _conns.get(database_url)
    if conn is None or conn.closed:
        conn = _conns[database_url] = psycopg.connect(database_url, autocommit=True)
    ports = _socket_ports()
    rows = conn.execute(
        "SELECT pid, client_port FROM pg_stat_activity WHERE client_port IS NOT NULL"
    ).fetchall()
    return {pid: _process_cpu(pid) for pid, port in rows if port in ports}


def _own_cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class CpuMeter:
    """``with CpuMeter(url) as m: ...`` then ``m.client`` and ``m.server`` (seconds)."""

    database_url: str
    client: float = 0.0
    server: float = 0.0

    def __enter__(self) -> CpuMeter:
        self._backends = backend_cpu(self.database_url)
        self._own = _own_cpu()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.client = _own_cpu() - self._own
        now = backend_cpu(self.database_url)
        self.server = sum(cpu - self._backends.get(pid, 0.0) for pid, cpu in now.items())
