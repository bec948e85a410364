"""Programme figures on the demo data, from the endpoint and from the IATI export.

Run from the worktree: ``PYTHONPATH=. .venv/bin/python scripts/programme_figures.py``
(loads the demo into a temporary SQLite store, serves it with the real app).
"""

from __future__ import annotations

import re
import tempfile
from collections import defaultdict
from decimal import Decimal

from fastapi.testclient import TestClient

from server.app import create_app
from server.demo import load_demo
from tests.conftest import app_settings, make_app, token


def main() -> None:
    url = f"sqlite:///{tempfile.mkdtemp()}/ledger.sqlite3"
    ledger = make_app(url)
    try:
        summary = load_demo(ledger)
        auth = {"Authorization": f"Bearer {token('auditor-1', ['auditor'])}"}
        settings = app_settings(url, read_wait_seconds=120.0)
        with TestClient(create_app(settings, ledger=ledger), headers=auth) as client:
            at = {"min_position": summary.last_position}
            for group in client.get("/v1/balances/programmes", params=at).json()["groups"]:
                print("API ", group)
            xml = client.get("/v1/exports/iati", params=at).text
            for activity in xml.split("<iati-activity ")[1:]:
                found = re.search(r"<iati-identifier>(.*?)<", activity)
                sums: dict[str, Decimal] = defaultdict(Decimal)
                pattern = r'<transaction-type code="(\d)"/>.*?<value[^>]*>([-\d.]+)<'
                for code, value in re.findall(pattern, activity):
                    sums[code] += Decimal(value)
                print("IATI", found.group(1) if found else "?", dict(sorted(sums.items())))
    finally:
        ledger.close()


if __name__ == "__main__":
    main()
