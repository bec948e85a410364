"""The projection benchmark's summary: the three parts' tables and the ratios."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bench.harness import core
from bench.harness.core import fmt
from bench.projection_report import (
    _rates,
    _read,
    breakdown,
    print_breakdown,
    print_catch_up,
    print_latencies,
    thread_split,
)
from bench.projection_seed import ratio


def print_summary(
    args: argparse.Namespace, m: Any, stamp: str, load_at_start: float, workdir: Path
) -> dict[str, float | None]:
    """Print every part's table; the ratios (and ``m.result["profiles"]`` with --profile)."""
    result, passes, lag, checks = m.result, m.passes, m.lag, m.checks
    raw_rate, decode_rate, catch_up = m.raw_rate, m.decode_rate, m.catch_up
    inproc_small, inproc_large = m.inproc_small, m.inproc_large
    http_small, http_large = m.http_small, m.http_large
    large_events, version = m.large_events, m.version

    # -- report -----------------------------------------------------------------------------
    s = result["seeding"]
    print()
    print(
        f"== projection benchmark {stamp}  (code {version}; {os.cpu_count()} CPUs, load average "
        f"{load_at_start:.2f} before / {os.getloadavg()[0]:.2f} after)"
    )
    core.busy_note(load_at_start)
    print(
        f"seeding: small log {s['small_events']:,} events in {s['small_seconds']:.1f}s; "
        f"volume {s['volume_disbursements']:,} disbursements + {s['volume_expenditures']:,} "
        f"expenditures from {args.seed_threads} threads -> {s['large_events']:,} events in "
        f"{s['volume_seconds']:.1f}s ({s['volume_commands_per_s']:,.0f} commands/s, "
        f"{s['volume_events_per_s']:,.0f} events/s; {s['committer']['transactions']:,} "
        f"group commits, {s['committer']['conflicts']:,} conflicts)"
    )
    print()
    print(f"1. catch-up over {large_events:,} events (pages of {args.batch})")
    print_catch_up(passes, raw_rate, decode_rate)
    tenths = catch_up.detail["events_per_s_by_tenth"]
    print(
        f"   ratios use the mean of the two bracketing passes: raw {raw_rate:,.0f}/s, "
        f"raw + decode {decode_rate:,.0f}/s"
    )
    print(f"   catch-up events/s per tenth of the log: {', '.join(f'{x:,.0f}' for x in tenths)}")
    per_batch = catch_up.detail["statements_per_batch"]
    print(
        f"   catch-up SQL per batch ({catch_up.detail['batches']} batches), besides the log "
        f"read: {', '.join(f'{v:,.1f} {k}' for k, v in sorted(per_batch.items()))} "
        f"(SELECT: 1 tracking read, the rest per-batch look-ups of grants, regions, accounts)"
    )
    print()
    sizes = (s["small_events"], s["large_events"])
    print("2. balance queries, ms (x = large / small; the controls show machine drift)")
    inproc_ratios = print_latencies(
        "   in-process (pooled connection checkout + one query; sequential):",
        inproc_small,
        inproc_large,
        sizes,
        ("postings read", _read),
    )
    print()
    http_ratios = print_latencies(
        f"   HTTP (ledger serve --workers {args.workers}, wrk -t1 -c{args.wrk_connections}, "
        f"{args.wrk_seconds:g}s each):",
        http_small,
        http_large,
        sizes,
        ("req/s", _rates),
    )
    c_small, c_large = checks["small"], checks["large"]
    print(
        f"   read models: {c_small['postings']:,} -> {c_large['postings']:,} postings, "
        f"{c_small['accounts']:,} -> {c_large['accounts']:,} accounts; balances table "
        f"{c_small['balances_table_kb']:,} -> {c_large['balances_table_kb']:,} kB "
        f"(dead row versions until vacuum)"
    )
    print()
    le, ls = lag["lag_events"], lag["lag_seconds"]
    print(
        f"3. projection lag under write load (ledger serve --workers {args.workers}, "
        f"wrk -t2 -c{args.load_connections}, {lag['load_seconds']:.0f}s)"
    )
    print(
        f"   writes: {lag['wrk']['ok_2xx']:,} disbursements, {lag['write_rate_req_s']:,.1f} "
        f"req/s = {fmt(lag['write_events_per_s'], 0)} events/s; write p50 "
        f"{lag['write_p50_ms']:.1f} ms, p99 {lag['write_p99_ms']:.1f} ms"
    )
    print(
        f"   status samples: {lag['samples_under_load']} under load "
        f"(grid {args.sample_interval * 1000:.0f} ms: {lag['samples_expected']} expected); "
        f"status call p50 {fmt(lag['status_call_ms']['p50'], 1)} ms, "
        f"p99 {fmt(lag['status_call_ms']['p99'], 1)} ms (idle p50 "
        f"{fmt(lag['status_call_ms_idle']['p50'], 1)} ms)"
    )
    print(f"   {'':<14}{'p50':>10}{'p99':>10}{'max':>10}{'mean':>10}   idle max")
    print(
        f"   {'lag_events':<14}{fmt(le['p50'], 0):>10}{fmt(le['p99'], 0):>10}"
        f"{fmt(le['max'], 0):>10}{fmt(le['mean'], 1):>10}   "
        f"{fmt(lag['idle_lag_events']['max'], 0)}"
    )
    print(
        f"   {'lag_seconds':<14}{fmt(ls['p50'], 3):>10}{fmt(ls['p99'], 3):>10}"
        f"{fmt(ls['max'], 3):>10}{fmt(ls['mean'], 3):>10}"
    )
    print(
        f"   under load the log grew {fmt(lag['written_events_per_s'], 0)} events/s, the "
        f"projection applied {fmt(lag['applied_events_per_s'], 0)}/s; lag trend "
        f"{fmt(lag['lag_trend_events_per_s'], 1)} events/s (~0: keeping up; > 0: falling behind)"
    )
    print(
        f"   back to lag 0 {fmt(lag['drained_after_s'], 2)} s after the load stopped; "
        f"{lag['reconciliation']['verdict']} "
        f"({lag['reconciliation']['acknowledged']:,} acknowledged, "
        f"{lag['reconciliation']['recorded']:,} recorded)"
    )
    ratios: dict[str, float | None] = {
        "catch-up / raw read": ratio(catch_up.rate, raw_rate),
        "catch-up / raw + decode": ratio(catch_up.rate, decode_rate),
        "raw + decode / raw read": ratio(decode_rate, raw_rate),
        "catch-up last tenth / first tenth": ratio(tenths[-1], tenths[0]),
        "catch-up / write load events/s": ratio(catch_up.rate, lag["write_events_per_s"]),
        "under load: applied / written": ratio(
            lag["applied_events_per_s"], lag["written_events_per_s"]
        ),
        "under load: applied / catch-up alone": ratio(lag["applied_events_per_s"], catch_up.rate),
        "lag_seconds p99 / write p99": ratio(ls["p99"], lag["write_p99_ms"] / 1000),
    }
    for where, rs in (("in-process", inproc_ratios), ("HTTP", http_ratios)):
        for key, r in rs.items():
            ratios[f"{where} {key} p50 large/small"] = r["p50"]
            ratios[f"{where} {key} p99 large/small"] = r["p99"]
    print()
    print("ratios (same run):")
    for name in list(ratios)[:8]:
        print(f"  {name:<38} {fmt(ratios[name], 3):>9}")
    print("  (query ratios: in the tables above, and in the JSON)")

    if args.profile:
        print()
        print(f"py-spy (raw stacks in {workdir}):")
        profiles = {
            "catch-up: run_once, wall time": breakdown(
                workdir / "catch-up.pyspy.txt", "ProjectionRunner.run_once"
            ),
            "catch-up: BatchApplier.apply, wall time": breakdown(
                workdir / "catch-up.pyspy.txt", "BatchApplier.apply"
            ),
            "catch-up: BatchApplier.flush, wall time": breakdown(
                workdir / "catch-up.pyspy.txt", "BatchApplier.flush"
            ),
            "server under the write load: running samples by thread": thread_split(
                workdir / "server-load.pyspy.txt"
            ),
            "server under the write load: runner thread, wall time": breakdown(
                workdir / "server-wall.pyspy.txt", "ProjectionRunner._loop"
            ),
            "server under the write load: run_once, wall time": breakdown(
                workdir / "server-wall.pyspy.txt", "ProjectionRunner.run_once"
            ),
        }
        for title, (total, rows) in profiles.items():
            print_breakdown(title, total, rows, top=8)
        result["profiles"] = {k: {"samples": t, "shares": r} for k, (t, r) in profiles.items()}

    return ratios
