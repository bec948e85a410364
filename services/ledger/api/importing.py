"""Running an import, for the route and the CLI alike: read the file, look up what the
ledger knows (bank accounts, open grants), plan each line, and record through the batch
service (unless it is a dry run), then record the import run itself.

Reading and planning are pure (``ledger.imports``); this module does the look-ups and
the recording, each as one call, so both transports share every decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from contracts.batch import MAX_BATCH_ITEMS
from ledger.api.auth import Principal
from ledger.api.import_files import (
    ImportSettings,
    Prepared,
    Recorder,
    SyncGrantFinder,
    read_upload,
)
from ledger.api.import_recording import keep_lines, record, record_run
from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context, Recorded
from ledger.domain.errors import DomainError
from ledger.imports.mapping import (
    Directory,
    GrantKey,
    Holder,
    grant_keys_of_register,
    grant_keys_of_statement,
    payers_of_register,
    plan_register,
    plan_statement,
)
from ledger.imports.onec import Problem, Statement


@dataclass
class Outcome:
    prepared: Prepared
    # Atomic imports: the lines that kept the whole file from being recorded.
    blocked: list[int] = field(default_factory=list)
    # Why nothing was recorded, when it is the file as a whole.
    refusal: str | None = None
    run: Recorded | None = None


def run(
    ledger: LedgerApplication,
    caller: Principal,
    ctx: Context | None,
    file_name: str,
    data: bytes,
    settings: ImportSettings,
    grants: SyncGrantFinder | None,
    *,
    kind: str | None = None,
    atomic: bool = True,
    recorder: Recorder | None = None,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """The whole import: ``ctx`` None is a dry run (nothing recorded)."""
    prepared = read_upload(
        file_name, data, kind=kind, max_bytes=settings.max_bytes, max_rows=settings.max_rows
    )
    directory = Directory(knp_categories=settings.knp_categories)
    directory.holders = holders(ledger, iiks_of(prepared))
    if not isinstance(prepared.source, Statement):
        directory.accounts = accounts(ledger, payers_of_register(prepared.source))
    keys = grant_keys(prepared, directory)
    if keys and grants is not None:
        directory.grants = grants(keys)
    plan(prepared, directory)
    outcome = Outcome(prepared)
    ready = sum(1 for ln in prepared.lines if ln.status == "ready")
    if atomic and ready > MAX_BATCH_ITEMS:
        # All or nothing is one commit of the batch service, which takes at most this many;
        # splitting it would make a partial import possible.
        outcome.refusal = (
            f"{ready} lines to record: an all-or-nothing import records at most "
            f"{MAX_BATCH_ITEMS}; import per row (mode=per-row) or split the file"
        )
        prepared.problems.append(Problem(1, "mode", outcome.refusal))
    if ctx is None or outcome.refusal is not None:
        return outcome
    outcome.blocked = [
        ln.line for ln in prepared.lines if ln.status in ("refused", "needs-decision")
    ]
    if atomic and outcome.blocked:
        return outcome
    record(ledger, caller, prepared, atomic=atomic, recorder=recorder, progress=progress)
    if atomic:
        outcome.blocked = [ln.line for ln in prepared.lines if ln.status == "refused"]
        if outcome.blocked:
            return outcome  # the batch recorded none of it
    outcome.run = record_run(ledger, ctx, prepared, atomic=atomic)
    if isinstance(prepared.source, Statement):
        keep_lines(ledger, ctx, prepared, prepared.source)
    return outcome


def iiks_of(prepared: Prepared) -> set[str]:
    s = prepared.source
    if not isinstance(s, Statement):
        return set()
    return {iik for d in s.documents for iik in (d.payer.iik, d.payee.iik) if iik}


def holders(ledger: LedgerApplication, iiks: set[str]) -> dict[str, list[Holder]]:
    """Who held each IIK, and when (an IIK the ledger does not know has no holder)."""
    found: dict[str, list[Holder]] = {}
    for iik in sorted(iiks):
        account = ledger.find_bank_account(iik)
        if account is not None:
            found[iik] = [
                Holder(h.party_kind, h.party, h.valid_from, h.valid_to) for h in account.holdings
            ]
    return found


def accounts(
    ledger: LedgerApplication, parties: set[tuple[str, str]]
) -> dict[tuple[str, str], list[tuple[str, Holder]]]:
    """The IIKs each party held, and when (a party the ledger does not know has none)."""
    found: dict[tuple[str, str], list[tuple[str, Holder]]] = {}
    for kind, code in sorted(parties):
        try:
            held = ledger.bank_accounts_of(kind, code)
        except DomainError:
            continue  # an unknown party: its rows are refused when recorded
        found[kind, code] = [
            (a.iik, Holder(h.party_kind, h.party, h.valid_from, h.valid_to))
            for a in held
            for h in a.holdings
            if (h.party_kind, h.party) == (kind, code)
        ]
    return found


def grant_keys(prepared: Prepared, directory: Directory) -> set[GrantKey]:
    s = prepared.source
    if isinstance(s, Statement):
        return grant_keys_of_statement(s, directory)
    return grant_keys_of_register(s)


def plan(prepared: Prepared, directory: Directory) -> None:
    s = prepared.source
    prepared.lines = (
        plan_statement(s, directory) if isinstance(s, Statement) else plan_register(s, directory)
    )
