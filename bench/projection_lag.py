"""Part 3: the embedded runner's lag under a write load, sampled on a fixed grid."""

from __future__ import annotations

import argparse
import contextlib
import math
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.harness import server, wrk
from bench.harness.core import Alarms, log
from bench.projection_catchup import log_counts
from bench.write_phases import (
    AMOUNT,
    VALUE_DATE_PAYMENT,
    reconcile,
    wait_until_quiet,
)
from ledger.application.app import LedgerApplication


def wait_idle(base: str, limit: float = 120.0) -> tuple[float, int | None]:
    """Seconds until the server's projections report no lag (and the last lag seen)."""
    began = time.monotonic()
    lag: int | None = None
    with server.client() as client:
        while time.monotonic() - began < limit:
            lag, _ = server.projection_lag(client, base)
            if lag == 0:
                break
            time.sleep(0.1)
    return round(time.monotonic() - began, 2), lag


# -- part 3: lag under a write load ----------------------------------------------------


@dataclass
class LagSample:
    at: float  # time.monotonic() when the call was made
    lag_events: int | None
    lag_seconds: float | None
    call_ms: float
    position: int | None = None
    head: int | None = None
    error: str | None = None


class LagSampler:
    """Polls GET /v1/projections/status on a fixed grid (100 ms) in its own thread."""

    def __init__(self, base: str, interval: float) -> None:
        self.base = base
        self.interval = interval
        self.samples: list[LagSample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        with server.client() as client:
            tick = time.monotonic()
            while not self._stop.is_set():
                began = time.monotonic()
                sample = LagSample(began, None, None, 0.0)
                try:
                    answer = client.get(f"{self.base}/v1/projections/status")
                    answer.raise_for_status()
                    status = answer.json()["projections"][0]
                    sample.lag_events = int(status["lag_events"])
                    sample.lag_seconds = float(status["lag_seconds"])
                    sample.position = int(status["position"])
                    sample.head = int(status["log_head"])
                except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as e:
                    sample.error = repr(e)[:200]
                sample.call_ms = round((time.monotonic() - began) * 1000, 2)
                self.samples.append(sample)
                # The next point of the grid; a late answer skips ticks, never bunches them.
                tick += self.interval
                now = time.monotonic()
                if tick < now:
                    tick += math.ceil((now - tick) / self.interval) * self.interval
                self._stop.wait(tick - now)


def distribution(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    return {
        "p50": pct(50),
        "p99": pct(99),
        "max": ordered[-1],
        "mean": round(statistics.fmean(ordered), 3),
    }


def lag_phase(
    app: LedgerApplication,
    base: str,
    grants: list[str],
    tag: str,
    args: argparse.Namespace,
    workdir: Path,
    alarms: Alarms,
    profile: Callable[[], contextlib.AbstractContextManager[Any]],
) -> dict[str, Any]:
    before_log = log_counts(app)
    head_before = app.log_head()
    sampler = LagSampler(base, args.sample_interval)
    sampler.start()
    try:
        time.sleep(args.idle_seconds)  # the idle baseline: lag with no writes
        zero = time.monotonic()
        log(f"write load: wrk -t2 -c{args.load_connections} -d{round(args.load_seconds)}s")
        with profile():
            # The write benchmark's script: a unique Idempotency-Key per request.
            script = wrk.disburse_lua(grants, f"{tag}-lag", AMOUNT, VALUE_DATE_PAYMENT.isoformat())
            run = wrk.run_wrk(
                base, script, f"{tag}-lag", 2, args.load_connections, args.load_seconds, workdir
            )
        load_end = time.monotonic() - zero
        head_after_load = app.log_head()
        # Keep sampling until the read side is idle again: the drain time.
        drain_began = time.monotonic()
        drained: float | None = None
        while time.monotonic() - drain_began < 60:
            time.sleep(args.sample_interval)
            last = sampler.samples[-1] if sampler.samples else None
            if last is not None and last.at - zero > load_end and last.lag_events == 0:
                drained = round(last.at - zero - load_end, 2)
                break
    finally:
        sampler.stop()
    wrk.check_wrk("write load", run, alarms)
    wait_until_quiet(app)
    after_log = log_counts(app)
    in_flight = max(0, run.issued - 1 - run.requests)
    recorded = after_log["disbursement"] - before_log["disbursement"]
    reconciliation = reconcile("write load", run.ok_2xx, recorded, in_flight, alarms)
    if drained is None:
        alarms.raise_("projections did not catch up within 60 s after the write load")

    idle = [s for s in sampler.samples if s.at < zero]
    loaded = [s for s in sampler.samples if 0 <= s.at - zero <= load_end]
    errors = [s.error for s in sampler.samples if s.error]
    if errors:
        alarms.raise_(f"status route failed {len(errors)} times, e.g. {errors[0]}")
    events = [float(s.lag_events) for s in loaded if s.lag_events is not None]
    seconds = [s.lag_seconds for s in loaded if s.lag_seconds is not None]
    write_events = head_after_load - head_before
    # Rates over the load window from the status answers themselves: how fast the log
    # head and the projection's position moved, and the lag's trend (least squares).
    answered = [
        (s.at - zero, s.position, s.head, s.lag_events or 0)
        for s in loaded
        if s.position is not None and s.head is not None
    ]
    applied_rate = written_rate = slope = None
    if len(answered) >= 3:
        (t0, p0, h0, _), (t1, p1, h1, _) = answered[0], answered[-1]
        applied_rate, written_rate = (p1 - p0) / (t1 - t0), (h1 - h0) / (t1 - t0)
        slope = statistics.linear_regression(
            [a[0] for a in answered], [float(a[3]) for a in answered]
        ).slope
    return {
        "wrk": asdict(run) | {"output": None},
        "write_rate_req_s": run.rps,
        "write_p50_ms": run.p50_ms,
        "write_p99_ms": run.p99_ms,
        "write_events": write_events,
        "write_events_per_s": write_events / load_end if load_end else None,
        "load_seconds": round(load_end, 2),
        "samples_under_load": len(loaded),
        "samples_expected": int(load_end / args.sample_interval),
        "applied_events_per_s": applied_rate,
        "written_events_per_s": written_rate,
        "lag_trend_events_per_s": slope,
        "lag_events": distribution(events),
        "lag_seconds": distribution(seconds),
        "idle_lag_events": distribution(
            [float(s.lag_events) for s in idle if s.lag_events is not None]
        ),
        "status_call_ms": distribution([s.call_ms for s in loaded]),
        "status_call_ms_idle": distribution([s.call_ms for s in idle]),
        "drained_after_s": drained,
        "reconciliation": asdict(reconciliation),
        # t: seconds since the write load started (negative: the idle baseline).
        "samples": [
            {"t": round(s.at - zero, 3)} | {k: v for k, v in asdict(s).items() if k != "at"}
            for s in sampler.samples
        ],
    }


# -- profiling (optional) ---------------------------------------------------------------
