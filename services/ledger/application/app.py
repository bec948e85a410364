"""The ledger application: one method per command, on the eventsourcing library."""

from __future__ import annotations

from ledger.application.approval_commands import ApprovalCommands
from ledger.application.bank_commands import BankAccountCommands
from ledger.application.entry_commands import EntryCommands
from ledger.application.grant_commands import GrantCommands
from ledger.application.import_commands import ImportCommands
from ledger.application.period_commands import PeriodCommands
from ledger.application.registry_commands import RegistryCommands
from ledger.application.statement_commands import StatementCommands


class LedgerApplication(
    RegistryCommands,
    GrantCommands,
    EntryCommands,
    ApprovalCommands,
    PeriodCommands,
    BankAccountCommands,
    ImportCommands,
    StatementCommands,
):
    """Records the programme's financial facts; storage chosen by environment."""

    name = "Ledger"
