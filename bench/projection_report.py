"""Profiles (optional py-spy) and the tables the projection benchmark prints."""

from __future__ import annotations

import contextlib
import linecache
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.harness.core import ROOT, VENV_BIN, fmt
from bench.projection_catchup import ReadPass
from bench.projection_queries import Latency
from bench.projection_seed import ratio


@contextlib.contextmanager
def py_spy(pid: int, out: Path, enabled: bool, idle: bool = False) -> Iterator[None]:
    """Sample ``pid`` with py-spy while the block runs (raw collapsed stacks).

    ``idle``: threads waiting (on the database, a lock, a queue) are sampled too, so
    shares are of wall time; without it they are of the time threads were running.
    """
    if not enabled:
        yield
        return
    command = [str(VENV_BIN / "py-spy"), "record", "--pid", str(pid), "--rate", "100"]
    command += ["--format", "raw", "--output", str(out), "--nonblocking"]
    command += ["--idle"] if idle else []
    with out.with_suffix(".log").open("wb") as err:
        proc = subprocess.Popen(command, stdout=err, stderr=subprocess.STDOUT)
    time.sleep(0.5)  # attached before the work starts
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def server_profiles(pid: int, workdir: Path, enabled: bool) -> Iterator[None]:
    """Two samplers on the server: running time (which thread), and wall time."""
    with (
        py_spy(pid, workdir / "server-load.pyspy.txt", enabled),
        py_spy(pid, workdir / "server-wall.pyspy.txt", enabled, idle=True),
    ):
        yield


_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*?):(?P<line>\d+)\)$")


def _stacks(path: Path) -> Iterator[tuple[list[str], int]]:
    if not path.exists():
        return
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if n.isdigit():
            yield stack.split(";"), int(n)


def _label(frame: str) -> str:
    """A frame of project code: function and source line; elsewhere: the function."""
    m = _FRAME.match(frame)
    if not m:
        return frame
    name, file, line = m["name"], m["file"], int(m["line"])
    if not file.startswith(("projections/", "ledger/")):
        return name
    source = linecache.getline(str(ROOT / "services" / file), line).strip()
    return f"{name}:{line}  {source[:60]}"


def breakdown(path: Path, anchor: str) -> tuple[int, list[tuple[str, float]]]:
    """Where the samples under ``anchor`` went, by its direct callee (or its own line)."""
    counts: Counter[str] = Counter()
    total = 0
    for frames, n in _stacks(path):
        at = next((i for i, f in enumerate(frames) if f.startswith(anchor + " (")), None)
        if at is None:
            continue
        total += n
        counts[_label(frames[at + 1] if at + 1 < len(frames) else frames[at])] += n
    return total, [(label, 100 * c / total) for label, c in counts.most_common()]


def thread_split(path: Path) -> tuple[int, list[tuple[str, float]]]:
    """Share of a server's running samples per part: runner, committer, the rest."""
    counts: Counter[str] = Counter()
    total = 0
    for frames, n in _stacks(path):
        total += n
        joined = ";".join(frames)
        if "ProjectionRunner._loop" in joined:
            counts["projection runner thread"] += n
        elif "GroupCommitter._run" in joined:
            counts["group committer thread"] += n
        else:
            counts["requests (event loop + thread pool)"] += n
    return total, [(k, 100 * c / total) for k, c in counts.most_common()] if total else []


def print_breakdown(title: str, total: int, rows: list[tuple[str, float]], top: int) -> None:
    print(f"   {title} ({total:,} samples)")
    for label, share in rows[:top]:
        print(f"   {share:6.1f}%  {label}")


# -- report -----------------------------------------------------------------------------


def print_catch_up(passes: list[ReadPass], baseline: float, decode: float) -> None:
    header = f"{'read of the log':<42}{'events':>10}{'seconds':>9}{'events/s':>11}"
    header += f"{'/ raw':>8}{'/ decode':>10}"
    print(header)
    print("-" * len(header))
    for p in passes:
        print(
            f"{p.name:<42}{p.events:>10,}{p.seconds:>9.2f}{p.rate:>11,.0f}"
            f"{fmt(ratio(p.rate, baseline), 3):>8}{fmt(ratio(p.rate, decode), 3):>10}"
        )


def print_latencies(
    title: str,
    small: dict[str, Latency],
    large: dict[str, Latency],
    events: tuple[int, int],
    column: tuple[str, Callable[[Latency, Latency], str]],
) -> dict[str, dict[str, float | None]]:
    a, b = (f"{n / 1000:,.0f}k" if n >= 10_000 else f"{n:,}" for n in events)
    print(title)
    header = f"   {'query':<50}{column[0]:>15}{'p50 @' + a:>11}{'p99 @' + a:>11}"
    header += f"{'p50 @' + b:>11}{'p99 @' + b:>11}{'p50 x':>8}{'p99 x':>8}"
    print(header)
    print("   " + "-" * (len(header) - 3))
    ratios: dict[str, dict[str, float | None]] = {}
    for key, s in small.items():
        big = large.get(key)
        if big is None:
            continue
        r50, r99 = ratio(big.p50_ms, s.p50_ms), ratio(big.p99_ms, s.p99_ms)
        ratios[key] = {"p50": r50, "p99": r99, "rate": ratio(big.rate, s.rate)}
        print(
            f"   {big.name[:49]:<50}{column[1](s, big):>15}{fmt(s.p50_ms, 2):>11}"
            f"{fmt(s.p99_ms, 2):>11}{fmt(big.p50_ms, 2):>11}{fmt(big.p99_ms, 2):>11}"
            f"{fmt(r50, 2):>8}{fmt(r99, 2):>8}"
        )
    return ratios


def _read(small: Latency, big: Latency) -> str:
    if "postings_read" in small.detail:
        return f"{small.detail['postings_read']:,}->{big.detail['postings_read']:,}"
    return f"{small.rows:,}->{big.rows:,} rows" if small.rows is not None else "-"


def _rates(small: Latency, big: Latency) -> str:
    return f"{fmt(small.rate, 0)}->{fmt(big.rate, 0)}"


# -- main -------------------------------------------------------------------------------


def code_version() -> str:
    """The commit measured, and whether the code under test differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "services", "contracts"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (services/ or contracts/ modified)" if dirty else head
