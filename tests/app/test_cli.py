"""The ledger command: demo loading, rebuild, and verify's exit status."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from server.cli import app

runner = CliRunner()


def test_demo_rebuild_verify_and_tamper(tmp_path: Path, monkeypatch: object) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    loaded = runner.invoke(app, ["demo", "--database-url", url])
    assert loaded.exit_code == 0, loaded.output
    assert "commands=2731" in loaded.output

    rebuilt = runner.invoke(app, ["projections", "rebuild", "--database-url", url])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "generation 2 is live" in rebuilt.output

    verified = runner.invoke(app, ["projections", "verify", "--database-url", url])
    assert verified.exit_code == 0, verified.output
    assert "equal a replay" in verified.output

    # An auditor's nightmare: someone edits a read model behind the ledger's back.
    with sqlite3.connect(tmp_path / "ledger.projections.sqlite3") as db:
        changed = db.execute(
            "UPDATE rm2_balances SET balance = balance + 100 "
            "WHERE account = 'schools:aktobe-khromtau-hub:cash'"
        ).rowcount
    assert changed == 1
    tampered = runner.invoke(app, ["projections", "verify", "--database-url", url])
    assert tampered.exit_code == 1
    assert "schools:aktobe-khromtau-hub:cash" in tampered.output
    assert "1 difference" in tampered.output or "2 difference" in tampered.output
