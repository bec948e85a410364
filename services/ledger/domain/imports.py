"""An import run: who brought which file into the ledger, and what came of it.

The payments themselves are recorded by their own commands, each under a key from the
bank's identity of the payment; this fact records the run, so history and the audit
feed show which file an officer imported, when, and how many of its rows were recorded,
already there, or refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import InvalidValue
from ledger.domain.registry import registry_id

FORMATS = frozenset({"1c-statement", "register-xlsx", "register-csv"})


def import_run_id(actor: str, idempotency_key: str) -> UUID:
    return registry_id("import", f"{actor}:{idempotency_key}")


class ImportRun(Aggregate):
    @staticmethod
    def create_id(actor: str, idempotency_key: str, **_: Any) -> UUID:
        return import_run_id(actor, idempotency_key)

    @classmethod
    def record(cls, **facts: Any) -> ImportRun:
        if facts["format"] not in FORMATS:
            raise InvalidValue(f"format must be one of {sorted(FORMATS)}")
        counts = (facts["rows"], facts["recorded"], facts["replayed"], facts["refused"])
        if min(counts) < 0 or sum(counts[1:]) > facts["rows"]:
            raise InvalidValue("the import's counts do not add up to its rows")
        return cls(import_id=str(import_run_id(facts["actor"], facts["idempotency_key"])), **facts)

    @event("Recorded")
    def __init__(
        self,
        import_id: str,
        file_name: str,
        sha256: str,
        size: int,
        format: str,
        kind: str | None,
        period_start: dt.date | None,
        period_end: dt.date | None,
        accounts: list[str],
        atomic: bool,
        rows: int,
        recorded: int,
        replayed: int,
        refused: int,
        school: str | None,
        donor: str | None,
        actor: str,
        idempotency_key: str,
    ) -> None:
        self.import_id = import_id
        self.file_name = file_name
        self.sha256 = sha256
        self.rows = rows
        self.recorded = recorded
        self.refused = refused
