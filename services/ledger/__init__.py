"""Write side of the grant ledger: commands -> domain aggregates -> event store."""

from __future__ import annotations

__version__ = "0.1.0"
