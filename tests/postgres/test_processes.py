"""Several OS processes, each with its own sequencer, writing to one PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]
JUNE_15 = dt.date(2025, 6, 15)


def _world(app: LedgerApplication, amount: int) -> UUID:
    app.register_donor(Context("setup", "setup-donor-0001"), code="fund", name="Fund")
    app.register_school(
        Context("setup", "setup-school-001"), code="hub", name="Hub", school_type="hub",
        region="aktobe", district="Khromtau",
    )  # fmt: skip
    recorded = app.commit_grant(
        Context("setup", "setup-grant-0001"), donor="fund", school="hub", programme=None,
        amount=amount, currency="KZT", value_date=dt.date(2025, 1, 10), reference="AGR-1",
    )  # fmt: skip
    return UUID(recorded.response["grant_id"])


def _writer(url: str, grant: UUID, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.postgres.writer", url, str(grant), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


@pytest.mark.postgres
def test_a_hot_grant_written_by_three_processes_ends_exact(pg_schema_url: str) -> None:
    # 3 x 60 disbursements of 10 against 1,000: exactly 100 fit.
    app = make_app(pg_schema_url)
    try:
        grant = _world(app, 1_000)
        procs = [
            _writer(pg_schema_url, grant, "--commands", "60", "--threads", "8", "--amount", "10")
            for _ in range(3)
        ]
        results = [_result(p) for p in procs]
        acknowledged = sum(len(r["ok"]) for r in results)
        refusals: dict[str, int] = {}
        for r in results:
            for name, n in r["refused"].items():
                refusals[name] = refusals.get(name, 0) + n
        assert acknowledged + sum(refusals.values()) == 180
        assert acknowledged == 100, refusals
        assert set(refusals) <= {"InsufficientUndisbursed"}, refusals
        state = app.get_grant(grant)
        assert state.disbursed == 1_000
        assert app.get_school_account("hub").cash_on_hand("KZT") == 1_000
        positions = [p for r in results for p in r["ok"]]
        assert len(set(positions)) == len(positions)  # each answer its own entry
    finally:
        app.close()


@pytest.mark.postgres
def test_a_period_close_is_a_hard_cut_across_processes(pg_schema_url: str) -> None:
    """Another process records entries dated in the period while this one closes it:
    every entry it acknowledged lies before the close in the log, none after."""
    app = make_app(pg_schema_url)
    try:
        grant = _world(app, 10**9)
        proc = _writer(
            pg_schema_url, grant, "--commands", "600", "--threads", "8", "--amount", "1",
            "--day", JUNE_15.isoformat(),
        )  # fmt: skip
        # Close once the writer is recording, so entries race the close.
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
        while app.get_grant(grant).disbursed < 50 and dt.datetime.now(dt.UTC) < deadline:
            pass
        closed = app.close_period(Context("approver", "close-june-0001"), period="2025-06",
                                  reason="books closed")  # fmt: skip
        result = _result(proc)
        assert result["ok"], "the writer recorded nothing before the close"
        assert max(result["ok"]) < closed.position
        assert set(result["refused"]) <= {"PeriodClosed"}
        assert len(result["ok"]) + result["refused"].get("PeriodClosed", 0) == 600
        assert app.get_grant(grant).disbursed == len(result["ok"])
    finally:
        app.close()
