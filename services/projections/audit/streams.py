"""How many live event streams (SSE) a process and one caller may hold open.

Each open stream polls the read store for as long as it lives; without a bound a
few callers could hold every worker and connection. A stream over either bound is
refused before it starts (the caller retries after ``Retry-After``).
"""

from __future__ import annotations

import threading
from collections import Counter

from ledger.domain.errors import DomainError


class TooManyStreams(DomainError):
    code = "too-many-streams"
    title = "Too many open event streams"


class StreamLimits:
    def __init__(self, max_streams: int, max_per_caller: int) -> None:
        self.max_streams = max_streams
        self.max_per_caller = max_per_caller
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def open(self) -> int:
        return sum(self._open.values())

    def acquire(self, caller: str) -> None:
        with self._lock:
            if self._open[caller] >= self.max_per_caller:
                raise TooManyStreams(
                    f"{self.max_per_caller} event streams are already open for this caller; "
                    "close one or retry later"
                )
            if sum(self._open.values()) >= self.max_streams:
                raise TooManyStreams(
                    f"this server already serves {self.max_streams} event streams; retry later"
                )
            self._open[caller] += 1

    def release(self, caller: str) -> None:
        with self._lock:
            self._open[caller] -= 1
            if self._open[caller] <= 0:
                del self._open[caller]
