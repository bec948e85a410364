"""Export routes on a hand-made scenario: media types, file names, problems, readiness,
hostile text in metadata, page boundaries, a pinned snapshot, and the CLI."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ledger.application.app import LedgerApplication
from ledger.application.unit_of_work import Context
from projections.exports import source
from projections.exports.journal import journal_text
from projections.exports.source import snapshot
from projections.queries import Cut
from projections.runner import ProjectionRunner
from server.cli import app as cli
from tests.conftest import make_app, make_store
from tests.exports.conftest import minor, run, tool

pytestmark = pytest.mark.durable
ODD_KEY = "key;with[odd],chars%41"


def post(client: TestClient, headers: Any, path: str, body: dict[str, Any], **kw: str) -> Any:
    response = client.post(path, json=body, headers=headers(**kw))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def scenario(client: TestClient, headers: Any) -> int:
    """A grant, a disbursement, a reversal; hostile text in keys, references and reasons."""
    post(client, headers, "/v1/donors", {"code": "qazaqstan-halqyna", "name": "QH"})
    post(client, headers, "/v1/programmes", {"code": "hub-schools", "name": "Hub schools"})
    school = {"school_type": "hub", "region": "aktobe", "district": "Khromtau"}
    post(client, headers, "/v1/schools", {"code": "khromtau", "name": "Khromtau", **school})
    grant = post(
        client, headers, "/v1/grants",
        {"donor": "qazaqstan-halqyna", "school": "khromtau", "programme": "hub-schools",
         "amount": 25_000_000_001, "value_date": "2024-01-15", "reference": "AGR;1 [2024/01/01]"},
        key=ODD_KEY,
    )  # fmt: skip
    paid = post(
        client, headers, f"/v1/grants/{grant['grant_id']}/disbursements",
        {"amount": 10_000_000_000, "value_date": "2024-02-01", "payment_reference": "PP-1"},
    )  # fmt: skip
    last = post(
        client, headers, f"/v1/entries/{paid['entry_id']}/reversal",
        {"reason": "duplicate;\norder, [sic]", "value_date": "2024-02-02"},
    )  # fmt: skip
    return int(last["position"])


def test_journal_survives_hostile_text_in_both_tools(
    client: TestClient, headers: Any, scenario: int, tmp_path: Path
) -> None:
    response = client.get(
        "/v1/exports/journal", params={"min_position": scenario}, headers=headers()
    )
    assert response.status_code == 200
    assert "; idempotency_key: key%3Bwith%5Bodd%5D%2Cchars%2541" in response.text
    path = tmp_path / "x.journal"
    path.write_text(response.text, encoding="utf-8")
    out = run(tool("hledger"), "-f", str(path), "bal", "--flat", "-O", "csv")
    balances = {a: v for a, v in csv.reader(io.StringIO(out)) if a not in ("account", "total")}
    assert balances == {
        "commitments:pledged:qazaqstan-halqyna": "-250000000.01 KZT",
        "commitments:receivable:khromtau": "250000000.01 KZT",
    }
    # ledger-cli reads '[date]' in a note as a date: the export must not contain one.
    total = run(tool("ledger"), "-f", str(path), "bal", "--flat").splitlines()
    assert total[-1].strip() == "0"
    assert "250000000.01 KZT  commitments:receivable:khromtau" in "\n".join(total)


def test_media_types_and_file_names(client: TestClient, headers: Any, scenario: int) -> None:
    expected = {
        "journal": ("text/plain; charset=utf-8", ".journal"),
        "journal.csv": ("text/csv; charset=utf-8", ".csv"),
        "schools.csv": ("text/csv; charset=utf-8", ".csv"),
        "donors.csv": ("text/csv; charset=utf-8", ".csv"),
        "iati": ("application/xml", ".xml"),
        "360giving": ("application/json", ".json"),
    }
    for path, (media, ext) in expected.items():
        params = {"min_position": str(scenario), "as_of": "2024-12-31"}
        response = client.get(f"/v1/exports/{path}", params=params, headers=headers())
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"] == media
        assert response.headers["x-log-position"] == str(scenario)
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("attachment; filename=")
        assert disposition.endswith(f'-{scenario}-as-of-2024-12-31{ext}"'), disposition


@pytest.mark.parametrize(
    "params",
    [{"as_of": "2024-13-01"}, {"known_at": "yesterday"}, {"min_position": "-1"}],
    ids=["as_of", "known_at", "min_position"],
)
def test_bad_parameters_are_problems(
    client: TestClient, headers: Any, params: dict[str, str]
) -> None:
    for path in ("journal", "journal.csv", "schools.csv", "donors.csv", "iati", "360giving"):
        response = client.get(f"/v1/exports/{path}", params=params, headers=headers())
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"].startswith("query.")


def test_lagging_read_side_is_503_before_any_byte(client: TestClient, headers: Any) -> None:
    response = client.get("/v1/exports/journal", params={"min_position": 10**9}, headers=headers())
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith(":projection-lagging")


def test_iati_of_an_empty_cut_is_a_problem_not_an_invalid_file(
    client: TestClient, headers: Any, scenario: int
) -> None:
    """IATI requires at least one activity: an empty cut is refused, never served invalid."""
    early = client.get(
        "/v1/exports/iati", params={"as_of": "2000-01-01", "min_position": scenario},
        headers=headers(),
    )  # fmt: skip
    assert early.status_code == 409, early.text
    assert early.headers["content-type"] == "application/problem+json"
    assert early.json()["type"].endswith(":nothing-to-export")
    whole = client.get("/v1/exports/iati", params={"min_position": scenario}, headers=headers())
    assert whole.status_code == 200
    assert "<iati-activity " in whole.text


def test_small_pages_give_the_same_export(
    client: TestClient, headers: Any, scenario: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def export() -> str:
        params = {"min_position": str(scenario)}
        text = client.get("/v1/exports/journal.csv", params=params, headers=headers()).text
        return text + client.get("/v1/exports/journal", params=params, headers=headers()).text

    whole = export()
    monkeypatch.setattr(source, "PAGE_ENTRIES", 1)
    assert export() == whole
    assert whole.count("; entry_id: ") == 2 + 1  # commitment, disbursement, reversal


def test_a_stream_is_pinned_to_its_position(app: LedgerApplication, store_url: str) -> None:
    """Entries recorded while an export streams are not in it, whatever the page size."""
    store = make_store(store_url)
    runner = ProjectionRunner(app.event_log, store)

    def grant(n: int) -> None:
        app.commit_grant(
            Context("t", f"pin-grant-{n:04d}"), donor="d1", school="s1", programme=None,
            amount=100 + n, currency="KZT", value_date=dt.date(2024, 1, 1),
            reference=f"G{n}",
        )  # fmt: skip

    app.register_donor(Context("t", "pin-donor-1"), code="d1", name="D")
    app.register_school(
        Context("t", "pin-school-1"), code="s1", name="S", school_type="hub",
        region="aktobe", district="x",
    )  # fmt: skip
    for n in range(3):
        grant(n)
    runner.catch_up()

    async def stream() -> tuple[str, int]:
        chunks = []
        async with snapshot(store, 10**9, Cut()) as snap:
            async for chunk in journal_text(snap):
                chunks.append(chunk)
                if len(chunks) == 2:  # header, first page: write more meanwhile
                    await asyncio.to_thread(lambda: [grant(n) for n in range(3, 6)])
                    await asyncio.to_thread(runner.catch_up)
            return "".join(chunks), snap.at

    original = source.PAGE_ENTRIES
    source.PAGE_ENTRIES = 1
    try:
        text, at = asyncio.run(stream())
    finally:
        source.PAGE_ENTRIES = original
        asyncio.run(store.async_engine.dispose())
        store.close()
    assert text.count("; entry_id: ") == 3
    assert f"; position: {at}\n" in text
    assert "G3" not in text and "G2" in text


def test_cli_exports_to_a_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    ledger = make_app(url)
    try:
        ledger.register_donor(Context("cli", "cli-donor-1"), code="d1", name="D")
        ledger.register_school(
            Context("cli", "cli-school-1"), code="s1", name="S", school_type="hub",
            region="aktobe", district="x",
        )  # fmt: skip
        for day, amount in ((1, 150), (20, 275)):
            ledger.commit_grant(
                Context("cli", f"cli-grant-{day:04d}"), donor="d1", school="s1",
                programme=None, amount=amount, currency="KZT",
                value_date=dt.date(2024, 3, day), reference="G",
            )  # fmt: skip
    finally:
        ledger.close()
    out = tmp_path / "export.journal"
    result = CliRunner().invoke(
        cli, ["export", "journal", "--database-url", url, "--as-of", "2024-03-10", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "log position" in result.output
    text = out.read_text(encoding="utf-8")
    assert "; as_of: 2024-03-10" in text
    assert "1.50 KZT" in text and "2.75 KZT" not in text
    balance = run(tool("hledger"), "-f", str(out), "bal", "--flat", "-O", "csv")
    assert minor(next(csv.reader(io.StringIO(balance.splitlines()[1])))[1].split()[0]) == -150
    for kind in ("journal-csv", "schools-csv", "donors-csv", "iati", "360giving"):
        result = CliRunner().invoke(cli, ["export", kind, "--database-url", url])
        assert result.exit_code == 0, (kind, result.output)
