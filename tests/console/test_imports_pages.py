"""The console's imports and reconciliation pages, without a browser, on every store."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from server.app import create_app
from tests.conftest import app_settings
from tests.console.test_console import csrf_of, sign_in
from tests.imports.statements import FUND, SCHOOL, SUPPLIER, statement
from tests.imports.test_import_dry_run import setup_world

Headers = Callable[..., dict[str, str]]
PERIOD = "kind=school&code=khromtau-hub&from=2025-03-01&to=2025-03-31"


def _hidden(html: str, action: str) -> dict[str, str]:
    form = html[html.index(f'action="{action}"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))


def _journal(client: TestClient) -> list[str]:
    entries = client.get("/v1/journal", params={"school": "khromtau-hub"}).json()["entries"]
    return sorted(e["reference"] for e in entries if e["reference"] != "AGR-0")


def test_a_statement_is_previewed_confirmed_once_and_reconciled(
    client: TestClient, headers: Headers
) -> None:
    setup_world(client, headers)
    lines = [
        (FUND, SCHOOL, 1_000_000_00, "PP-1", "tranche"),
        (SUPPLIER, SCHOOL, 5_000_00, "RF-1", "refund"),  # not mapped: only in the bank
    ]
    data = statement(SCHOOL, lines, encoding="UTF-8").encode()
    sign_in(client, "olga", ("officer",))
    client.get("/console/language/en")
    csrf = csrf_of(client.get("/console/imports").text)
    file = {"file": ("statement.txt", data)}
    # Without the form's token nothing is even read.
    refused = client.post("/console/imports", data={"mode": "per-row"}, files=file)
    assert refused.status_code == 403
    shown = client.post("/console/imports", data={"csrf": csrf, "mode": "per-row"}, files=file)
    assert shown.status_code == 200, shown.text
    assert "Preview: nothing recorded yet" in shown.text and "PP-1" in shown.text
    assert _journal(client) == []
    confirm = _hidden(shown.text, "/console/imports/confirm")
    first = client.post("/console/imports/confirm", data=confirm, files={"x": ("", b"")})
    assert first.status_code == 200, first.text
    assert "Import recorded" in first.text
    again = client.post("/console/imports/confirm", data=confirm, files={"x": ("", b"")})
    assert again.status_code == 200, again.text
    assert _journal(client) == ["PP-1"]  # confirmed twice, recorded once

    page = client.get(f"/console/reconciliation?{PERIOD}")
    assert page.status_code == 200, page.text
    assert "Only in the bank" in page.text and "RF-1" in page.text
    why = {**_hidden(page.text, "/console/reconciliation/explanations"), "reason": "refund"}
    done = client.post("/console/reconciliation/explanations", data=why, follow_redirects=False)
    assert done.status_code == 303, done.text
    explained = client.get(done.headers["location"]).text
    assert "refund" in explained
    assert 'action="/console/reconciliation/explanations"' not in explained
    export = client.get(f"/console/reconciliation.csv?{PERIOD}")
    assert export.status_code == 200 and "RF-1" in export.text


def test_a_viewer_is_offered_neither_imports_nor_reconciliation(client: TestClient) -> None:
    sign_in(client, "vera", ("viewer",))
    client.get("/console/language/en")
    menu = client.get("/console/").text
    assert "/console/imports" not in menu and "/console/reconciliation" not in menu
    assert client.get("/console/imports").status_code == 403


def test_an_upload_larger_than_the_import_limit_is_refused_unread() -> None:
    app = create_app(app_settings("memory://", import_max_bytes=1000))
    with TestClient(app) as client:
        sign_in(client, "olga", ("officer",))
        client.get("/console/language/en")
        csrf = csrf_of(client.get("/console/imports").text)
        # Over the import's limit: the API says so on the imports page.
        big = {"file": ("big.csv", b"x" * 4000)}
        answer = client.post("/console/imports", data={"csrf": csrf}, files=big)
        assert answer.status_code == 413
        assert "imports are limited to 1000 bytes" in answer.text
        # Far over it: the gate stops reading.
        huge = {"file": ("huge.csv", b"x" * 200_000)}
        answer = client.post("/console/imports", data={"csrf": csrf}, files=huge)
        assert answer.status_code == 413
        assert "The file is too large." in answer.text
        small = client.post("/console/imports", data={"csrf": csrf}, files={"file": ("a", b"")})
        assert small.status_code == 422 and "Choose a file to import." in small.text
