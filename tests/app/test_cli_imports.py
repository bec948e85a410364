"""The ``ledger`` command starts without importing what only some commands use.

Every command pays for the imports of the command-line module: a command that reads
the log (``ledger replay``) must not pay for the HTTP server, the JWT library or the
read store's SQLAlchemy, which were a third of its run time.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("uvicorn", "fastapi", "jwt", "sqlalchemy", "pydantic_settings", "asyncio")


def _loaded_after(statement: str) -> set[str]:
    probe = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return {name.split(".")[0] for name in out.split()}


def test_the_command_line_module_imports_no_command_s_dependencies() -> None:
    loaded = _loaded_after("import server.cli")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_replay_s_imports_leave_the_read_store_and_server_out() -> None:
    loaded = _loaded_after("import server.cli, server.bootstrap, projections.replay")
    assert "ledger" in loaded
    assert not loaded & {"uvicorn", "fastapi", "sqlalchemy", "prometheus_client"}
