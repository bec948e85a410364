"""Read side: follows the event log and keeps read models that answer balance queries."""

from __future__ import annotations
