"""The write benchmark's report: the table, the ratios, the goal table, the checks."""

from __future__ import annotations

import os
from dataclasses import dataclass

from bench.harness import core
from bench.harness.core import Figure, fmt, ratio
from bench.write_http import Run
from bench.write_phases import AMOUNT

# Read-side goals this benchmark does not measure, and where they are measured.
ELSEWHERE = "see bench/readside_bench.py, bench/projection_bench.py"


@dataclass
class Goal:
    figure: str
    goal: str
    value: float | None
    unit: str
    met: bool | None  # None: not measured in this run
    note: str = ""


def ratios(figures: dict[str, Figure]) -> dict[str, float | None]:
    f = figures.get
    return {
        "HTTP c32 / stand-in c32": ratio(f("http_c32"), f("standin")),
        "HTTP c32 / bare library": ratio(f("http_c32"), f("lib")),
        "HTTP c32 / raw commits": ratio(f("http_c32"), f("raw")),
        "in-process / bare library": ratio(f("inproc"), f("lib")),
        "in-process / raw commits": ratio(f("inproc"), f("raw")),
        "HTTP c32 / in-process": ratio(f("http_c32"), f("inproc")),
        "HTTP c32 no-proj / in-process": ratio(f("http_c32_np"), f("inproc")),
        "HTTP c32 / HTTP c32 no-proj": ratio(f("http_c32"), f("http_c32_np")),
        "HTTP c32 / HTTP c1": ratio(f("http_c32"), f("http_c1")),
        "HTTP hot c32 / HTTP c32": ratio(f("http_hot"), f("http_c32")),
        "batch commands / bare library": ratio(f("http_batch"), f("lib")),
        "batch commands / HTTP c32": ratio(f("http_batch"), f("http_c32")),
        "bare library / raw commits": ratio(f("lib"), f("raw")),
    }


def _at_least(name: str, goal: float, value: float | None, unit: str = "x", note: str = "") -> Goal:
    met = None if value is None else value >= goal
    return Goal(name, f">= {goal:g}", value, unit, met, note)


def goals(run: Run) -> list[Goal]:
    """The issue's goal table, from this run's figures."""
    f = run.figures
    found = ratios(f)
    inproc = f.get("inproc")
    cpu = inproc.detail.get("cpu_ms_per_command") if inproc else None
    lag_p99 = (run.lag.get("lag_seconds") or {}).get("p99")
    rss = run.memory.get("rss_mb_after_largest")
    batch_note = run.skipped.get("batch", "")
    rows = [
        _at_least("HTTP recording / in-memory stand-in", 0.5, found["HTTP c32 / stand-in c32"]),
        _at_least("HTTP recording / bare library", 1.5, found["HTTP c32 / bare library"]),
        _at_least("one hot grant / spread load", 0.5, found["HTTP hot c32 / HTTP c32"]),
        Goal(
            "in-process CPU per disbursement",
            "<= 0.3",
            cpu,
            "ms",
            None if cpu is None else cpu <= 0.3,
        ),
        _at_least("in-process commands/s", 2000, inproc.rate if inproc else None, "/s"),
        _at_least(
            "batch route commands/s / bare library",
            10,
            found["batch commands / bare library"],
            note=batch_note,
        ),
        Goal("rebuild / raw read of the same log", ">= 0.3", None, "x", None, ELSEWHERE),
        Goal("ledger replay / ledger-cli", ">= 1", None, "x", None, ELSEWHERE),
        Goal(
            "projection lag p99 during HTTP c32",
            "< 1",
            lag_p99,
            "s",
            None if lag_p99 is None else lag_p99 < 1,
        ),
        Goal(
            f"RSS after {run.memory.get('events_written', 0):,} events (largest process)",
            "<= 300",
            rss,
            "MB",
            None if rss is None else rss <= 300,
        ),
    ]
    return rows


def print_goals(rows: list[Goal]) -> None:
    print(f"{'goal (issue table)':<52}{'goal':>9}{'this run':>12}  verdict")
    for g in rows:
        value = "-" if g.value is None else f"{fmt(g.value, 3 if g.unit != '/s' else 0)} {g.unit}"
        verdict = {True: "met", False: "NOT met", None: "not measured"}[g.met]
        note = f"  ({g.note})" if g.note else ""
        print(f"  {g.figure:<50}{g.goal:>9}{value:>12}  {verdict}{note}")


def print_report(
    run: Run,
    stamp: str,
    load_at_start: float,
    found: dict[str, float | None],
    goal_rows: list[Goal],
) -> None:
    figures, args = run.figures, run.args
    order = ["standin", "http_c1", "http_c32", "http_hot", "http_batch", "http_c32_np"]
    order += ["inproc", "lib", "raw"]
    print()
    print(
        f"== write benchmark {stamp}  ({os.cpu_count()} CPUs, {args.duration:g}s per phase, "
        f"store {args.store}, --workers {args.workers}, load average {load_at_start:.2f} "
        f"before / {os.getloadavg()[0]:.2f} after)"
    )
    core.busy_note(load_at_start)
    core.print_table([figures[k] for k in order if k in figures])
    print()
    print("server CPU per request (whole process group):")
    for key in ("standin", "http_c1", "http_c32", "http_hot", "http_c32_np", "http_batch"):
        if key in figures:
            d = figures[key].detail
            ms = d.get("server_cpu_ms_per_request", d.get("server_cpu_ms_per_command"))
            per = "command" if "server_cpu_ms_per_command" in d else "request"
            print(f"  {figures[key].name:<34} {fmt(ms, 3):>8} ms per {per}")
    for phase, why in run.skipped.items():
        print(f"  {phase} phase skipped: {why}")
    print()
    print("ratios (same run):")
    for name, value in found.items():
        print(f"  {name:<32} {fmt(value, 3):>8}")
    print()
    print_goals(goal_rows)
    if run.profile:
        print()
        print("server CPU by layer during HTTP c32 (py-spy --gil, one worker):")
        print("\n".join(run.profile))
    print()
    _print_details(run)


def _print_details(run: Run) -> None:
    figures, history = run.figures, run.history
    c = figures["inproc"].detail.get("committer") if "inproc" in figures else None
    if c:
        print(
            f"group commit (in-process): {c['transactions']:,} transactions for "
            f"{c['commands']:,} commands (mean batch {c['mean_batch']}, largest "
            f"{c['largest_batch']}, conflicts {c['conflicts']})"
        )
    if "inproc" in figures:
        cpu = figures["inproc"].detail.get("cpu_ms_per_command")
        print(f"in-process CPU per command (this process, all threads): {fmt(cpu, 3)} ms")
    if run.memory:
        m = run.memory
        print(
            f"memory: {m['events_written']:,} events in {m['seconds']}s via {m['via']} "
            f"({fmt(m['events_per_second'])} events/s); RSS MB before {m['rss_mb_before']} "
            f"-> after {m['rss_mb_after']}"
        )
    if run.lag:
        d = run.lag["lag_seconds"]
        print(
            f"projection lag during {run.lag['phase']} ({run.lag['samples']} samples): "
            f"p50 {fmt(d['p50'], 3)} s, p99 {fmt(d['p99'], 3)} s, max {fmt(d['max'], 3)} s"
        )
    medians = history["events_per_grant_at_end_median"]
    print(
        "events per grant at the end (median): "
        + ", ".join(f"{k} {v:g}" for k, v in medians.items())
    )
    print(
        f"one grant load (full replay): {history['load_ms_c32_grant']:.2f} ms at "
        f"{history['events_c32_grant']} events, {history['load_ms_hot_grant']:.2f} ms at "
        f"{history['events_hot_grant']} events (hot grant)"
    )
    if run.catch_ups:
        print("embedded projections (lag when the load stopped -> read side idle again):")
        for when, cu in run.catch_ups.items():
            if cu.lag_at_start is None:
                print(f"  after {when:<26} unknown: {cu.error}")
                continue
            print(
                f"  after {when:<26} lag {cu.lag_at_start:>7,} events -> "
                f"idle within {cu.seconds:.1f}s"
            )
    print()
    print("correctness (disbursed in the store vs acknowledged):")
    for r in run.reconciliations:
        print(
            f"  {r.phase:<26} acknowledged {r.acknowledged:>7,}  recorded {r.recorded:>7,}  "
            f"in flight at stop {r.in_flight_at_stop:>3}  -> {r.verdict}"
        )
    acknowledged = sum(r.acknowledged for r in run.reconciliations)
    recorded = sum(r.recorded for r in run.reconciliations)
    print(
        f"  {'total':<26} acknowledged {acknowledged:>7,}  recorded {recorded:>7,}  "
        f"store sum {run.final_total:,} tiyn = {run.final_total // AMOUNT:,} x {AMOUNT}"
    )
