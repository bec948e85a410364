"""Recording an import: its lines through the batch service, then the run itself and the
statement's own lines (kept to reconcile with)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from contracts.batch import MAX_BATCH_ITEMS, BatchRequest
from ledger.api import batches
from ledger.api.auth import Principal
from ledger.api.import_files import Prepared, Recorder
from ledger.api.import_report import counts
from ledger.application.app import LedgerApplication
from ledger.application.import_commands import RecordImport
from ledger.application.statement_commands import ReceiveBankLines
from ledger.application.unit_of_work import Context, Recorded
from ledger.imports.lines import statement_months
from ledger.imports.mapping import Line
from ledger.imports.onec import Problem, Statement


def record(
    ledger: LedgerApplication,
    caller: Principal,
    prepared: Prepared,
    *,
    atomic: bool,
    recorder: Recorder | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Send the ready lines to the batch service, in batches it accepts, and note each
    line's answer on it."""
    # The batch route's service: each line is validated, authorized, recorded and answered
    # exactly as its single route would.
    execute = recorder or batches.execute
    ready = [line for line in prepared.lines if line.status == "ready" and line.item]
    # An atomic import is never larger than one batch (``importing.run`` refuses it).
    chunks = [ready[i : i + MAX_BATCH_ITEMS] for i in range(0, len(ready), MAX_BATCH_ITEMS)]
    for chunk in chunks:
        _record_chunk(ledger, caller, chunk, atomic, execute)
        if progress is not None:
            progress(len(chunk))


# The payment's key was used before for a request with other details: the same payment
# (payer's account, number, date, amount) as another file described it, e.g. the payee's
# bank writing the purpose differently. It is recorded; this file does not record it again.
_RECORDED_ELSEWHERE = "idempotency-key-reused"


def _record_chunk(
    ledger: LedgerApplication, caller: Principal, chunk: list[Line], atomic: bool,
    execute: Recorder,
) -> None:  # fmt: skip
    pending = chunk
    while pending:
        items = [line.item for line in pending if line.item is not None]
        request = BatchRequest.model_construct(atomic=atomic, items=items)
        result = execute(ledger, caller, request)
        again: list[Line] = []
        for line, answer in zip(pending, result.items, strict=True):
            line.result = answer.body
            code = str(answer.body.get("type", "")).rpartition(":")[2]
            if 200 <= answer.status < 300:
                line.status = "replayed" if answer.replayed else "recorded"
            elif code == _RECORDED_ELSEWHERE:
                line.status = "replayed"
                line.problems.append(
                    Problem(line.line, "result", "recorded before from another file, whose "
                            "details of this payment differ; not recorded again")
                )  # fmt: skip
            elif code == "not-recorded":
                again.append(line)
            else:
                line.status = "refused"
                detail = str(answer.body.get("detail") or answer.body.get("title") or "refused")
                line.problems.append(Problem(line.line, "result", detail))
        if not atomic or any(line.status == "refused" for line in pending):
            for line in again:
                line.status = "refused"
                line.problems.append(
                    Problem(
                        line.line,
                        "result",
                        "not recorded: "
                        + str(
                            line.result.get("detail") if line.result else "the batch was refused"
                        ),
                    )
                )
            return
        # Only payments recorded before held the atomic batch up: the rest goes again.
        pending = again


def record_run(
    ledger: LedgerApplication, ctx: Context, prepared: Prepared, *, atomic: bool
) -> Recorded:
    s = prepared.source
    tally = counts(prepared)
    party = _statement_party(ledger, s) if isinstance(s, Statement) else (None, None)
    command = RecordImport(
        file_name=prepared.file_name[:200],
        sha256=prepared.sha256,
        size=prepared.size,
        format=prepared.format,
        kind=None if isinstance(s, Statement) else s.kind,
        period_start=s.start if isinstance(s, Statement) else None,
        period_end=s.end if isinstance(s, Statement) else None,
        accounts=tuple(s.accounts) if isinstance(s, Statement) else (),
        atomic=atomic,
        rows=tally.rows,
        recorded=tally.recorded,
        replayed=tally.replayed,
        refused=tally.rows - tally.recorded - tally.replayed,
        school=party[0],
        donor=party[1],
    )
    return ledger.record_import(ctx, command)


def _statement_party(ledger: LedgerApplication, s: Statement) -> tuple[str | None, str | None]:
    day = s.end or s.start
    for iik in s.accounts:
        account = ledger.find_bank_account(iik)
        holder = account.holder_on(day) if account is not None and day is not None else None
        if holder is not None:
            return (holder.party, None) if holder.party_kind == "school" else (None, holder.party)
    return None, None


def keep_lines(
    ledger: LedgerApplication, ctx: Context, prepared: Prepared, statement: Statement
) -> None:
    """What the statement says about the ledger's own accounts, kept to reconcile with."""
    known = {iik for iik in statement.accounts if ledger.find_bank_account(iik) is not None}
    for (iik, month), (lines, balances) in sorted(statement_months(statement, known).items()):
        # One key per import run and month: a retried upload replays, a new one adds only
        # the lines not yet known.
        key = "lines-" + hashlib.sha256(f"{ctx.idempotency_key}|{iik}|{month}".encode()).hexdigest()
        command = ReceiveBankLines(
            iik=iik, month=month, lines=lines, balances=balances, import_sha256=prepared.sha256
        )
        ledger.receive_bank_lines(Context(ctx.actor, key[:64]), command)
