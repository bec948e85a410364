"""Garbage collection while replaying a log in big batches.

A replay batch keeps tens of thousands of row dicts alive until it is written, and the
interpreter's young-generation collection (every 700 allocations by default) walked
them all again and again: a sixth of a rebuild's CPU, for nothing (the rows hold no
reference cycles). Replays raise the threshold for their duration.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

# Allocations between young-generation collections while replaying.
REPLAY_GC_THRESHOLD = 10_000


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Young collections at most every ``REPLAY_GC_THRESHOLD`` allocations, for a while."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], REPLAY_GC_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
