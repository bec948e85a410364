"""The read side's port onto the event log: all it needs of the write side.

The read side follows, replays and verifies the log through this interface alone, so
it can be read and tested without the write application; the write side supplies the
implementation and the composition root hands it over.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eventsourcing.persistence import Notification


class EventLog(Protocol):
    def select(self, start: int, limit: int, stop: int | None = None) -> Sequence[Notification]:
        """Stored events from position ``start`` on, at most ``limit``, none after ``stop``."""
        ...

    def decode(self, notification: Notification) -> Any:
        """The domain event a stored notification holds (upcast to its current version)."""
        ...

    def head(self) -> int:
        """The last position in the log (0 when empty)."""
        ...

    def listen(self, wake: Callable[[], None], stopped: threading.Event) -> bool:
        """Call ``wake`` whenever any process appends, until ``stopped``; blocks.

        Returns False at once where the store cannot announce appends (then the
        reader polls).
        """
        ...
