"""Where a server's CPU goes per request: py-spy samples sorted into the layers of the
request path (HTTP parsing, middleware, auth, logs, metrics, validation, the application).

``py-spy record --gil --threads -f raw`` samples only the thread holding the GIL, so each sample is
Python CPU time. Each sample is given to the innermost frame that matches a layer below
(first rule wins per frame), so a layer's share is the time spent in it and in whatever
it calls that no other layer claims.

    .venv/bin/python -m bench.harness.profile /tmp/server.txt            # the layers
    .venv/bin/python -m bench.harness.profile /tmp/server.txt "asyncio loop"   # one layer's frames
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

# Order matters within one frame only: the innermost matching frame decides.
LAYERS: list[tuple[str, re.Pattern[str]]] = [
    ("strict JSON", re.compile(r"strict_json\.py")),
    ("auth (JWT, access)", re.compile(r"ledger/api/auth\.py|\(jwt/|api/access\.py")),
    ("logs (structlog)", re.compile(r"structlog/|observability/logs\.py|\(logging/")),
    ("metrics (prometheus)", re.compile(r"prometheus_client/|observability/middleware\.py")),
    ("deadline", re.compile(r"server/deadline\.py")),
    ("body limit", re.compile(r"api/limits\.py")),
    ("query check", re.compile(r"query_params\.py")),
    ("problems", re.compile(r"api/problems\.py")),
    ("pydantic", re.compile(r"pydantic|fastapi/_compat|request_body_to_args")),
    (
        "response serialisation",
        re.compile(r"serialize_response|jsonable_encoder|responses\.py"),
    ),
    ("fastapi dependencies", re.compile(r"solve_dependencies|fastapi/dependencies|api/deps\.py")),
    (
        "application + store",
        re.compile(
            r"ledger/application|ledger/domain|ledger/infrastructure|eventsourcing/|psycopg|"
            r"sqlalchemy|\(copy\.py|\(uuid\.py"
        ),
    ),
    ("routes", re.compile(r"ledger/api/routes")),
    # threading.py itself is claimed by no layer: its caller (anyio's worker, the
    # committer, the projection runner) decides.
    ("thread-pool hop", re.compile(r"anyio/|starlette/concurrency|_run_sync_endpoint")),
    ("body read + JSON parse", re.compile(r"json/decoder|Request\.json|Request\.body")),
    ("starlette/fastapi routing", re.compile(r"starlette/|fastapi/")),
    ("uvicorn + h11", re.compile(r"uvicorn/|h11/|http_guard")),
    ("asyncio loop", re.compile(r"asyncio/|uvloop")),
]
READ_SIDE = "read side (projections)"


def samples(path: Path) -> Iterator[tuple[list[str], int]]:
    """(frames root first, thread name first; count) per line of py-spy's raw output."""
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            yield stack.split(";"), int(count)


def layer_of(frames: list[str]) -> str:
    """The layer of one sample; with ``--threads`` the first element names the thread."""
    if frames[0].startswith("thread ("):
        if "projection" in frames[0]:
            return READ_SIDE
        frames = frames[1:]
    for frame in reversed(frames):
        for name, pattern in LAYERS:
            if pattern.search(frame):
                return name
    return "other"


def layers(path: Path) -> Counter[str]:
    found: Counter[str] = Counter()
    for frames, n in samples(path):
        found[layer_of(frames)] += n
    return found


def frames_of(path: Path, layer: str) -> Counter[str]:
    """The innermost frame of ``layer`` in each of its samples."""
    pattern = dict(LAYERS).get(layer)
    found: Counter[str] = Counter()
    for frames, n in samples(path):
        if layer_of(frames) != layer:
            continue
        for frame in reversed(frames):
            if pattern is None or pattern.search(frame):
                found[frame] += n
                break
    return found


def report(path: Path, ms_per_request: float | None = None) -> list[str]:
    """One line per layer: samples, share, and ms of CPU per request when known."""
    found = layers(path)
    total = sum(found.values()) or 1
    lines = []
    for name, n in found.most_common():
        ms = f"{ms_per_request * n / total:7.3f} ms" if ms_per_request else ""
        lines.append(f"  {name:<28}{n:>7} {100 * n / total:6.1f} % {ms}")
    return lines


if __name__ == "__main__":
    raw = Path(sys.argv[1])
    if len(sys.argv) > 2:
        for frame, n in frames_of(raw, sys.argv[2]).most_common(25):
            print(f"{n:>7}  {frame}")
    else:
        print("\n".join(report(raw)))
