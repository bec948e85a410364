"""The pure domain: aggregates, events, posting rules and invariants.

Imports only the standard library and ``eventsourcing`` (checked by import-linter
and by ``tests/test_architecture.py``).
"""

from __future__ import annotations
