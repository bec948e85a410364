"""What an import answers: every line with its request, answer and problems, and counts."""

from __future__ import annotations

from typing import Any, cast

from contracts.imports import ImportCounts, ImportLine, ImportReport, LineProblem
from ledger.api.import_files import Prepared
from ledger.application.unit_of_work import Recorded
from ledger.imports.onec import Problem, Statement
from ledger.imports.registers import Register


def counts(prepared: Prepared) -> ImportCounts:
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
        counts=counts(prepared),
        problems=_problems(prepared.problems),
        lines=lines,
        import_id=recorded.response["import_id"] if recorded else None,
        position=recorded.position if recorded else None,
    )
