"""The ledger command: demo loading, rebuild, and verify's exit status."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from server.cli import app

runner = CliRunner()


def test_demo_rebuild_verify_and_tamper(tmp_path: Path, monkeypatch: object) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    loaded = runner.invoke(app, ["demo", "--database-url", url])
    assert loaded.exit_code == 0, loaded.output
    assert "2731 commands: 2731 recorded" in loaded.output

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
    as_json = runner.invoke(app, ["projections", "verify", "--json", "--database-url", url])
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert any("schools:aktobe-khromtau-hub:cash" in d for d in report["differences"])


def test_version_and_machine_readable_checks(tmp_path: Path) -> None:
    from ledger import __version__

    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.stdout.strip() == f"ledger {__version__}"
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    absent = runner.invoke(app, ["db", "check", "--json", "--database-url", url])
    assert absent.exit_code == 1
    report = json.loads(absent.stdout)
    assert report["ready"] is False and report["missing"]
    assert runner.invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    present = runner.invoke(app, ["db", "check", "--json", "--database-url", url])
    assert present.exit_code == 0, present.output
    assert json.loads(present.stdout) == {"ready": True, "missing": []}
    verified = runner.invoke(app, ["projections", "verify", "--json", "--database-url", url])
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout) == {"ok": True, "differences": []}
