"""``ledger import``: the same dry run from the command line, with an exit code."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from ledger.application.unit_of_work import Context
from server.cli import app
from tests.conftest import make_app
from tests.imports.statements import FUND, SCHOOL, school_lines, statement

runner = CliRunner()


def world(url: str, grants: int = 1) -> None:
    ledger = make_app(url)
    try:
        n = iter(range(1000))

        def ctx() -> Context:
            return Context("alice", f"cli-test-{next(n):04d}")

        ledger.register_donor(ctx(), code="fund", name="Fund")
        ledger.register_school(ctx(), code="khromtau-hub", name="Khromtau", school_type="hub",
                               region="aktobe", district="Khromtau")  # fmt: skip
        for kind, party, org in (("donor", "fund", FUND), ("school", "khromtau-hub", SCHOOL)):
            ledger.register_bank_account(
                ctx(), party_kind=kind, party=party, iik=org.iik, bic=org.bic, bin=org.bin,
                kbe=None, valid_from=dt.date(2024, 1, 1),
            )  # fmt: skip
        for i in range(grants):
            ledger.commit_grant(
                ctx(), donor="fund", school="khromtau-hub", amount=10**13, currency="KZT",
                programme=None, value_date=dt.date(2024, 6, 1), reference=f"AGR-{i}",
            )  # fmt: skip
    finally:
        ledger.close()


def test_dry_run_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    world(url)
    file = tmp_path / "statement.txt"
    file.write_bytes(statement(SCHOOL, school_lines(300), encoding="UTF-8").encode())
    result = runner.invoke(app, ["import", str(file), "--dry-run", "--json", "--database-url", url])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["counts"]["ready"] == 300 and report["dry_run"]
    table = runner.invoke(app, ["import", str(file), "--dry-run", "--database-url", url])
    assert table.exit_code == 0 and "ready" in table.output and "300" in table.output


def test_refused_lines_exit_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    world(url, grants=2)  # two open grants: tranches wait for a decision
    file = tmp_path / "statement.txt"
    file.write_bytes(statement(SCHOOL, school_lines(20), encoding="UTF-8").encode())
    wide = {"COLUMNS": "200"}
    result = runner.invoke(app, ["import", str(file), "--dry-run", "--database-url", url], env=wide)
    assert result.exit_code == 1
    assert "(needs-decision)" in result.output and "2 open grants" in result.output
    broken = tmp_path / "broken.txt"
    broken.write_bytes(file.read_bytes()[:-40])
    result = runner.invoke(app, ["import", str(broken), "--dry-run", "--database-url", url])
    assert result.exit_code == 1 and "Malformed file" in result.output


def test_recording_from_the_command_line_records_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    world(url)
    file = tmp_path / "statement.txt"
    file.write_bytes(statement(SCHOOL, school_lines(200), encoding="UTF-8").encode())
    args = ["import", str(file), "--json", "--actor", "officer-1", "--database-url", url]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["counts"]["recorded"] == 200 and report["import_id"]
    second = json.loads(runner.invoke(app, args).stdout)
    assert second["counts"]["replayed"] == 200 and second["counts"]["recorded"] == 0
    period = ["--party", "school:khromtau-hub", "--from", "2025-03-01", "--to", "2025-03-31"]
    agreed = runner.invoke(app, ["reconcile", *period, "--json", "--database-url", url])
    assert agreed.exit_code == 0, agreed.output
    result = json.loads(agreed.stdout)
    assert result["counts"]["matched"] == 200 and all(b["agrees"] for b in result["balances"])
    table = runner.invoke(
        app, ["reconcile", *period, "--database-url", url], env={"COLUMNS": "200"}
    )
    assert table.exit_code == 0 and "matched" in table.output and "agrees" in table.output
    unknown = runner.invoke(app, ["reconcile", "--party", "school:nobody", "--from", "2025-03-01",
                                  "--to", "2025-03-31", "--database-url", url])  # fmt: skip
    assert unknown.exit_code == 2
