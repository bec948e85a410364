"""The write benchmark's HTTP part: ``ledger serve`` and the in-memory stand-in under wrk.

Per phase: the rate, the server's CPU per request (its whole process group), the store
reconciled against the 2xx answers; on the as-shipped server also the read side's lag
while the spread load runs, the batch route and the resident memory after many events.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import server, wrk
from bench.harness.core import VENV_BIN, Alarms, Figure, log
from bench.harness.profile import report as profile_report
from bench.harness.server import CatchUp, Server
from bench.projection_lag import LagSampler, distribution
from bench.write_phases import (
    AMOUNT,
    PROJECTIONS_SWITCH,
    VALUE_DATE_PAYMENT,
    Reconciliation,
    reconcile,
    total_disbursed,
    wait_until_quiet,
)
from ledger.application.app import LedgerApplication

# name, key, wrk -t, wrk -c, grant set, seconds
HttpPhase = tuple[str, str, int, int, str, float]
BATCH_PATH = "/v1/batches"


@dataclass
class Run:
    """What the phases found, for the report."""

    args: argparse.Namespace
    tag: str
    workdir: Path
    alarms: Alarms = field(default_factory=Alarms)
    figures: dict[str, Figure] = field(default_factory=dict)
    reconciliations: list[Reconciliation] = field(default_factory=list)
    catch_ups: dict[str, CatchUp] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # phase: why
    lag: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    profile: list[str] = field(default_factory=list)
    final_total: int = 0


def servers(args: argparse.Namespace) -> list[tuple[str, dict[str, str], list[HttpPhase]]]:
    """Label, extra environment and phases of each ledger server the HTTP part starts.

    Warm-ups have grants of their own, so no measured phase inherits their events.
    """
    out: list[tuple[str, dict[str, str], list[HttpPhase]]] = [
        (
            "as shipped (embedded projections)",
            {},
            [
                ("http warm-up", "warmup", 2, 32, "warmup", args.warmup),
                ("HTTP disburse c1", "http_c1", 1, 1, "c1", args.duration),
                ("HTTP disburse c32", "http_c32", 2, 32, "c32", args.duration),
                ("HTTP hot grant c32", "http_hot", 2, 32, "hot", args.duration),
            ],
        ),
    ]
    if PROJECTIONS_SWITCH:
        out.append(
            (
                "projections off",
                {PROJECTIONS_SWITCH: "false"},
                [
                    ("http warm-up (no proj.)", "warmup_np", 2, 32, "warmup", args.warmup),
                    ("HTTP c32, projections off", "http_c32_np", 2, 32, "c32np", args.duration),
                ],
            )
        )
    return out


def http_part(run: Run, reader: LedgerApplication, url: str, sets: dict[str, list[str]]) -> None:
    args = run.args
    standin(run, sets["c32"])
    for n, (label, extra_env, phases) in enumerate(servers(args)):
        log(f"HTTP: ledger serve --workers {args.workers}, {label}")
        logfile = run.workdir / f"server-{n}.log"
        following = not extra_env
        with server.ledger_server(url, args.workers, logfile, extra_env) as srv:
            if following:
                run.catch_ups["server start"] = server.wait_projections(srv.base)
                log(f"projections caught up after start: {run.catch_ups['server start']}")
            for phase in phases:
                http_phase(run, reader, srv, phase, sets[phase[4]], following)
            if following:
                batches = batch_route(srv.base)
                if batches is None:
                    batch_phase(run, reader, srv, sets["batch"])
                else:
                    run.skipped["batch"] = batches
                    log(f"batch phase skipped: {batches}")
                if args.rss_events:
                    memory_phase(run, reader, srv, sets["rss"], batches is None)
    for when, catch_up in run.catch_ups.items():
        if catch_up.error and "answered 404" not in catch_up.error:
            run.alarms.raise_(f"projections status unknown after {when}: {catch_up.error}")
        elif catch_up.lag_at_end:
            run.alarms.raise_(
                f"projections still {catch_up.lag_at_end} events behind "
                f"{catch_up.seconds:.0f}s after {when}"
            )


def standin(run: Run, grants: list[str]) -> None:
    """The framework's ceiling: the same route shape, in memory, same uvicorn and workers."""
    args = run.args
    log(f"in-memory FastAPI stand-in, --workers {args.workers}")
    with server.standin_server(args.workers, run.workdir / "standin.log") as srv:
        script = wrk.disburse_lua(grants, f"{run.tag}-si", AMOUNT, VALUE_DATE_PAYMENT.isoformat())
        wrk.run_wrk(srv.base, script, f"{run.tag}-siw", 2, 32, args.warmup, run.workdir)
        cpu = server.cpu_seconds(srv.pid)
        result = wrk.run_wrk(srv.base, script, f"{run.tag}-si", 2, 32, args.duration, run.workdir)
        cpu = server.cpu_seconds(srv.pid) - cpu
    wrk.check_wrk("stand-in c32", result, run.alarms)
    figure = wrk.http_figure("in-memory FastAPI stand-in c32", 2, 32, result)
    figure.detail["server_cpu_ms_per_request"] = _per_request(cpu, result.requests)
    run.figures["standin"] = figure


def http_phase(
    run: Run,
    reader: LedgerApplication,
    srv: Server,
    phase: HttpPhase,
    grants: list[str],
    following: bool,
) -> None:
    """One wrk load, then the store reconciled against the 2xx answers."""
    name, key, threads, conns, _, seconds = phase
    log(f"{name}: wrk -t{threads} -c{conns} -d{max(1, round(seconds))}s")
    before = total_disbursed(reader, grants)
    script = wrk.disburse_lua(grants, f"{run.tag}-{key}", AMOUNT, VALUE_DATE_PAYMENT.isoformat())
    sampler = LagSampler(srv.base, 0.1) if following and key == "http_c32" else None
    spy = _profile(run, srv, seconds) if key == "http_c32" and run.args.profile else None
    if sampler:
        sampler.start()
    cpu = server.cpu_seconds(srv.pid)
    try:
        result = wrk.run_wrk(
            srv.base, script, f"{run.tag}-{key}", threads, conns, seconds, run.workdir
        )
    finally:
        cpu = server.cpu_seconds(srv.pid) - cpu
        if sampler:
            sampler.stop()
    stopped = time.monotonic()
    lag_at_stop = None
    if following:
        with server.client() as http:
            lag_at_stop, _ = server.projection_lag(http, srv.base)
    server.wait_answered(srv.base)
    wait_until_quiet(reader)
    recorded = (total_disbursed(reader, grants) - before) // AMOUNT
    wrk.check_wrk(name, result, run.alarms)
    # wrk calls request() once on thread 1 before the run to check the script; that
    # request is never sent, hence the - 1.
    in_flight = max(0, result.issued - 1 - result.requests)
    run.reconciliations.append(reconcile(name, result.ok_2xx, recorded, in_flight, run.alarms))
    if following:
        # The next phase starts only once the read side is idle again.
        catch_up = server.wait_projections(srv.base)
        catch_up.lag_at_start = lag_at_stop
        catch_up.seconds = round(time.monotonic() - stopped, 2)
        run.catch_ups[name] = catch_up
    if key.startswith("warmup"):
        return
    figure = run.figures[key] = wrk.http_figure(name, threads, conns, result)
    figure.detail["server_cpu_ms_per_request"] = _per_request(cpu, result.requests)
    if following:
        figure.detail["projections"] = asdict(run.catch_ups[name])
    if sampler:
        lags = [s.lag_seconds for s in sampler.samples if s.lag_seconds is not None]
        run.lag = {"phase": name, "samples": len(lags), "lag_seconds": distribution(lags)}
    if spy is not None:
        spy.wait(timeout=60)
        raw = run.workdir / "server-c32.pyspy.txt"
        if raw.exists():
            ms = figure.detail["server_cpu_ms_per_request"]
            run.profile = profile_report(raw, ms)
    (run.workdir / f"{key}.wrk.txt").write_text(result.output)


def batch_route(base: str) -> str | None:
    """None when ``POST /v1/batches`` exists, else why the batch phase is skipped."""
    with server.client() as http:
        answer = http.post(base + BATCH_PATH, json={"atomic": False, "items": []})
    if answer.status_code == 404:
        return f"{BATCH_PATH} answered 404 (the route is not there yet)"
    return None


def batch_phase(run: Run, reader: LedgerApplication, srv: Server, grants: list[str]) -> None:
    """Disbursements through the batch route: items per second against the bare library."""
    args = run.args
    items, conns = args.batch_items, args.batch_conns
    name = f"HTTP batch x{items} c{conns}"
    log(f"{name}: wrk -t2 -c{conns} -d{max(1, round(args.duration))}s")
    before = total_disbursed(reader, grants)
    tag = f"{run.tag}-batch"
    script = wrk.batch_lua(grants, tag, AMOUNT, VALUE_DATE_PAYMENT.isoformat(), items)
    cpu = server.cpu_seconds(srv.pid)
    result = wrk.run_wrk(srv.base, script, tag, 2, conns, args.duration, run.workdir)
    cpu = server.cpu_seconds(srv.pid) - cpu
    server.wait_answered(srv.base)
    wait_until_quiet(reader)
    recorded = (total_disbursed(reader, grants) - before) // AMOUNT
    wrk.check_wrk(name, result, run.alarms)
    if result.counts.get("refused"):
        run.alarms.raise_(f"{name}: {result.counts['refused']} items refused {result.counts}")
    acknowledged = result.counts.get("recorded", 0)
    in_flight = max(0, result.issued - 1 - result.requests) * items
    run.reconciliations.append(reconcile(name, acknowledged, recorded, in_flight, run.alarms))
    run.catch_ups[name] = server.wait_projections(srv.base)
    figure = wrk.http_figure(name, 2, conns, result)
    figure.unit = "commands/s"
    figure.rate = acknowledged / result.seconds if result.seconds else 0.0
    figure.ok = acknowledged
    figure.detail |= {
        "items_per_batch": items,
        "batches_per_second": result.rps,
        "counts": result.counts,
        "server_cpu_ms_per_command": _per_request(cpu, acknowledged),
    }
    run.figures["http_batch"] = figure


def memory_phase(
    run: Run, reader: LedgerApplication, srv: Server, grants: list[str], batches: bool
) -> None:
    """Record until the server has written ``--rss-events`` events; its resident memory."""
    args = run.args
    target = args.rss_events
    head = reader.log_head()
    rss_before = server.rss_mb(srv.pid)
    log(f"memory: recording {target:,} events ({'batches' if batches else 'single requests'})")
    before = total_disbursed(reader, grants)
    began = time.monotonic()
    acknowledged = in_flight = 0
    chunk = 0
    while reader.log_head() - head < target and time.monotonic() - began < args.rss_seconds:
        chunk += 1
        tag = f"{run.tag}-rss{chunk}"
        if batches:
            script = wrk.batch_lua(
                grants, tag, AMOUNT, VALUE_DATE_PAYMENT.isoformat(), args.batch_items
            )
            conns = args.batch_conns
        else:
            script = wrk.disburse_lua(grants, tag, AMOUNT, VALUE_DATE_PAYMENT.isoformat())
            conns = 32
        result = wrk.run_wrk(srv.base, script, tag, 2, conns, 10, run.workdir)
        wrk.check_wrk("memory phase", result, run.alarms)
        if result.counts.get("refused"):
            run.alarms.raise_(
                f"memory phase: {result.counts['refused']} batch items refused {result.counts}"
            )
        per = args.batch_items if batches else 1
        acknowledged += result.counts.get("recorded", 0) if batches else result.ok_2xx
        in_flight += max(0, result.issued - 1 - result.requests) * per
    seconds = time.monotonic() - began
    server.wait_answered(srv.base)
    wait_until_quiet(reader)
    written = reader.log_head() - head
    catch_up = server.wait_projections(srv.base)
    run.catch_ups["memory phase"] = catch_up
    recorded = (total_disbursed(reader, grants) - before) // AMOUNT
    run.reconciliations.append(
        reconcile("memory phase", acknowledged, recorded, in_flight, run.alarms)
    )
    rss_after = server.rss_mb(srv.pid)
    run.memory = {
        "events_written": written,
        "target_events": target,
        "seconds": round(seconds, 1),
        "events_per_second": round(written / seconds, 1) if seconds else None,
        "rss_mb_before": {str(k): round(v, 1) for k, v in rss_before.items()},
        "rss_mb_after": {str(k): round(v, 1) for k, v in rss_after.items()},
        "rss_mb_after_total": round(sum(rss_after.values()), 1),
        "rss_mb_after_largest": round(max(rss_after.values(), default=0.0), 1),
        "via": "batches" if batches else "single requests",
    }
    if written < target:
        run.alarms.raise_(
            f"memory phase: only {written:,} of {target:,} events within {args.rss_seconds:g}s"
        )


def _per_request(cpu_seconds: float, requests: int) -> float | None:
    return round(1000 * cpu_seconds / requests, 3) if requests else None


def _profile(run: Run, srv: Server, seconds: float) -> subprocess.Popen[bytes] | None:
    """py-spy (--gil: Python CPU only) on the server's worker for the phase."""
    spy = VENV_BIN / "py-spy"
    if not spy.exists():
        log("--profile: .venv/bin/py-spy not installed (pip install py-spy); not profiling")
        return None
    pids = server.group_pids(srv.pid)
    # With --workers N the group is the supervisor and its workers: profile one worker.
    target = next((p for p in pids if p != srv.pid), srv.pid)
    out = run.workdir / "server-c32.pyspy.txt"
    command = [str(spy), "record", "-p", str(target), "-d", str(max(1, round(seconds) - 1))]
    command += ["-r", "250", "-f", "raw", "-o", str(out), "--nonblocking", "--gil", "--threads"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
