"""A command as a value: its name, the arguments its idempotency fingerprint covers, and
the decision it makes on the state a unit of work loads.

Commands are frozen dataclasses; the application methods build one from their keyword
arguments and run it. The fingerprint is taken from the value's fields, with exactly
the names and values the hand-written argument dicts used before, so a retry of a
request recorded earlier still matches its stored claim.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from ledger.application.results import (
    BankAccountRecorded,
    Decided,
    ImportRecorded,
    PeriodChanged,
    Posted,
    Reduced,
    Registered,
    Result,
    Reversed,
)
from ledger.application.unit_of_work import UnitOfWork, fingerprint

if TYPE_CHECKING:
    from ledger.application.core import LedgerCore

# Field metadata: the field steers the decision but is not part of the request.
UNSIGNED: dict[str, object] = {"fingerprint": False}
# Field metadata: a field added after requests were recorded joins the fingerprint only
# when given, so the retry of a request made before it existed still matches its claim.
WHEN_GIVEN: dict[str, object] = {"fingerprint": "when-given"}


ResultType = (
    type[Registered]
    | type[Posted]
    | type[Reduced]
    | type[Reversed]
    | type[Decided]
    | type[PeriodChanged]
    | type[BankAccountRecorded]
    | type[ImportRecorded]
)


@dataclasses.dataclass(frozen=True)
class Command(ABC):
    command_name: ClassVar[str]
    # What a run answers (a command with two possible answers reads its own).
    result_type: ClassVar[ResultType]
    # A period close or reopen holds the period lock exclusively until committed.
    close_periods: ClassVar[bool] = False

    def arguments(self, *without: str) -> dict[str, Any]:
        """The command's fields by name, less ``without`` (to hand on to an aggregate)."""
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in without
        }

    def fingerprint_args(self) -> dict[str, Any]:
        """The request's arguments as the fingerprint sees them."""
        args: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            signed, value = f.metadata.get("fingerprint", True), getattr(self, f.name)
            if signed is False or (signed == "when-given" and value is None):
                continue
            args[f.name] = value
        return args

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.command_name, self.fingerprint_args())

    @abstractmethod
    def decide(self, app: LedgerCore, uow: UnitOfWork) -> Result:
        """Load what the command needs, apply it to the aggregates, say what happened."""

    def read_result(self, stored: dict[str, Any]) -> Result:
        """The typed result of a response stored by an earlier run (a replay)."""
        return self.result_type.from_response(stored)
