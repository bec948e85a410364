"""Figures, alarms, percentiles, timed thread loops and the report every benchmark prints."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


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

    def banner(self) -> int:
        """Repeat every alarm at the end; the exit status (1 on any alarm)."""
        if not self.items:
            return 0
        print("\n" + "!" * 78)
        print(f"!!! {len(self.items)} ALARM(S) — these figures are NOT clean:")
        for item in self.items:
            print(f"!!!  - {item}")
        print("!" * 78)
        return 1


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


def percentile_ms(samples: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of samples in seconds, in milliseconds."""
    if not samples:
        return None
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index] * 1000


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def ratio(a: Figure | None, b: Figure | None) -> float | None:
    if a is None or b is None or not b.rate:
        return None
    return a.rate / b.rate


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


# -- timed loops (in-process phases and library baselines) ----------------------------


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


# -- a run's start and end ------------------------------------------------------------


def _terminate(signum: int, _frame: object) -> None:
    # Turn SIGTERM into an exception so every finally block (server, schemas) runs.
    raise KeyboardInterrupt(f"signal {signum}")


def preflight(database_url: str, *, wrk: bool = True) -> None:
    """Refuse to start a run that cannot finish; SIGTERM then unwinds like Ctrl-C."""
    if "?" in database_url:
        sys.exit("--database-url must not carry a query: the benchmark picks its own schemas")
    if wrk and shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    if not (VENV_BIN / "ledger").exists():
        sys.exit(f"{VENV_BIN / 'ledger'} not found: run with the project's .venv/bin/python")
    signal.signal(signal.SIGTERM, _terminate)


def host(load_at_start: float, postgres: str) -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "loadavg_1m_before": load_at_start,
        "loadavg_1m_after": os.getloadavg()[0],
        "python": platform.python_version(),
        "postgres": postgres,
    }


def busy_note(load_at_start: float) -> None:
    if load_at_start > 0.5 * (os.cpu_count() or 1):
        print(
            "   note: the machine was already busy before the run; other work shifts "
            "between phases skews the ratios too. Compare several runs."
        )


def write_results(kind: str, stamp: str, payload: dict[str, Any]) -> Path:
    """``bench/results/<kind>-<stamp>.json`` (git-ignored)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{kind}-{stamp}.json"
    out.write_text(json.dumps(payload, indent=2, default=str))
    print(f"\nwrote {out.relative_to(ROOT)}")
    return out


def run_stamp() -> tuple[dt.datetime, str, str]:
    """(now, file stamp, schema tag): the tag is unique per run and safe in identifiers."""
    now = dt.datetime.now(dt.UTC)
    tag = f"{now.strftime('%Y%m%d_%H%M%S')}_{uuid.uuid4().hex[:4]}"
    return now, now.strftime("%Y%m%d-%H%M%S"), tag


def run_main(main: Callable[[], int]) -> None:
    """Exit with ``main``'s status; Ctrl-C and SIGTERM after the finally blocks ran."""
    try:
        sys.exit(main())
    except KeyboardInterrupt as e:
        print(f"\ninterrupted ({e or 'Ctrl-C'}); server stopped, schemas dropped", file=sys.stderr)
        sys.exit(130)
