"""Running an import, for the route and the CLI alike: read the file, look up what the
ledger knows (bank accounts, open grants), plan each line, and record through the batch
service (unless it is a dry run), then record the import run itself.

Reading and planning are pure (``ledger.imports``); this module does the look-ups and
the recording, each as one call, so both transports share every decision.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, cast

from contracts.batch import MAX_BATCH_ITEMS, BatchRequest, BatchResult
from contracts.imports import ImportCounts, ImportLine, ImportReport, LineProblem
from ledger.api import batches
from ledger.api.auth import Principal
from ledger.application.app import LedgerApplication
from ledger.application.import_commands import RecordImport
from ledger.application.statement_commands import ReceiveBankLines
from ledger.application.unit_of_work import Context, Recorded
from ledger.imports import onec, registers
from ledger.imports.lines import statement_months
from ledger.imports.mapping import (
    Directory,
    GrantKey,
    Holder,
    Line,
    grant_keys_of_register,
    grant_keys_of_statement,
    plan_register,
    plan_statement,
)
from ledger.imports.onec import Problem, Statement, StatementError
from ledger.imports.registers import Register, RegisterError
from ledger.imports.totals import totals_problems

GrantFinder = Callable[[set[GrantKey]], Coroutine[Any, Any, dict[GrantKey, list[str]]]]
SyncGrantFinder = Callable[[set[GrantKey]], dict[GrantKey, list[str]]]
Recorder = Callable[[LedgerApplication, Principal, BatchRequest], BatchResult]


@dataclass(frozen=True)
class ImportSettings:
    """What the composition root tells an import: limits, the KNP table, and how to find a
    donor's open grants with a school (the read side's business)."""

    max_bytes: int
    max_rows: int
    knp_categories: dict[str, str]
    open_grants: GrantFinder | None = None


class ImportRefused(Exception):
    """The file as a whole cannot be imported: a problem naming the line, nothing recorded."""

    def __init__(self, status: int, code: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail


@dataclass
class Prepared:
    file_name: str
    size: int
    sha256: str
    source: Statement | Register
    problems: list[Problem] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    @property
    def format(self) -> str:
        return "1c-statement" if isinstance(self.source, Statement) else self.source.format

    @property
    def rows(self) -> int:
        s = self.source
        return len(s.documents) if isinstance(s, Statement) else len(s.rows)


def read_upload(
    file_name: str, data: bytes, *, kind: str | None, max_bytes: int, max_rows: int
) -> Prepared:
    if len(data) > max_bytes:
        raise ImportRefused(
            413, "import-too-large", "File too large",
            f"the file is {len(data)} bytes; imports are limited to {max_bytes} bytes",
        )  # fmt: skip
    if not data.strip():
        raise ImportRefused(422, "malformed-import", "Malformed file", "line 1: the file is empty")
    digest = hashlib.sha256(data).hexdigest()
    source: Statement | Register
    try:
        if data.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(onec.MAGIC.encode()):
            source = onec.parse(data, max_documents=max_rows)
            problems = [*source.problems, *(p for s in source.sections for p in s.problems)]
            problems += totals_problems(source)
        else:
            source = registers.parse(data, kind=kind, max_rows=max_rows)
            problems = list(source.problems)
    except (StatementError, RegisterError) as e:
        too_many = "more than" in e.message and ("rows" in e.message or "documents" in e.message)
        raise ImportRefused(
            413 if too_many else 422,
            "import-too-many-rows" if too_many else "malformed-import",
            "Too many rows" if too_many else "Malformed file",
            f"{file_name}: {e}",
        ) from None
    return Prepared(file_name, len(data), digest, source, problems)


@dataclass
class Outcome:
    prepared: Prepared
    # Atomic imports: the lines that kept the whole file from being recorded.
    blocked: list[int] = field(default_factory=list)
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
    keys = grant_keys(prepared, directory)
    if keys and grants is not None:
        directory.grants = grants(keys)
    plan(prepared, directory)
    outcome = Outcome(prepared)
    if ctx is None:
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
    if atomic and len(ready) > MAX_BATCH_ITEMS:
        # One all-or-nothing batch: the batch service takes it whole when called in process.
        chunks = [ready]
    else:
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
    counts = _counts(prepared)
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
        rows=counts.rows,
        recorded=counts.recorded,
        replayed=counts.replayed,
        refused=counts.rows - counts.recorded - counts.replayed,
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


def _counts(prepared: Prepared) -> ImportCounts:
    by: dict[str, int] = {}
    for line in prepared.lines:
        by[line.status] = by.get(line.status, 0) + 1
    return ImportCounts(
        rows=prepared.rows,
        ready=by.get("ready", 0),
        needs_decision=by.get("needs-decision", 0),
        not_mapped=by.get("not-mapped", 0),
        refused=by.get("refused", 0),
        recorded=by.get("recorded", 0),
        replayed=by.get("replayed", 0),
    )


def _problems(problems: list[Problem]) -> list[LineProblem]:
    return [LineProblem(line=p.line, field=p.field, message=p.message) for p in problems]


def report(
    prepared: Prepared, *, dry_run: bool, atomic: bool, recorded: Recorded | None = None
) -> ImportReport:
    s = prepared.source
    statement = s if isinstance(s, Statement) else None
    lines = []
    for line in prepared.lines:
        item: Any = line.item
        lines.append(
            ImportLine(
                line=line.line, number=line.number, status=line.status, action=line.action,
                value_date=line.value_date, amount=line.amount, currency=line.currency,
                counterparty=line.counterparty, path=item.path if item else None,
                idempotency_key=item.idempotency_key if item else None,
                body=item.body if item else None, result=line.result,
                problems=_problems(line.problems),
            )
        )  # fmt: skip
    return ImportReport(
        dry_run=dry_run,
        atomic=atomic,
        file_name=prepared.file_name,
        size=prepared.size,
        sha256=prepared.sha256,
        format=prepared.format,
        kind=None if statement else cast(Register, s).kind,
        encoding=statement.encoding if statement else None,
        period_start=statement.start if statement else None,
        period_end=statement.end if statement else None,
        accounts=statement.accounts if statement else [],
        counts=_counts(prepared),
        problems=_problems(prepared.problems),
        lines=lines,
        import_id=recorded.response["import_id"] if recorded else None,
        position=recorded.position if recorded else None,
    )
