"""The journal export, checked by hledger and ledger-cli: the tools' balances are the
service's account balances to the tiyn, and the journal balances to zero."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.exports.conftest import Demo, minor, run, tool

CUTS = [
    {},
    {"as_of": "2024-06-30"},
    {"as_of": "2023-12-31"},
]


def api_balances(demo: Demo, headers: Callable[..., dict[str, str]], **cut: str) -> dict[str, int]:
    params = {"min_position": str(demo.position), "limit": "5000", **cut}
    response = demo.client.get("/v1/balances/accounts", params=params, headers=headers())
    assert response.status_code == 200, response.text
    return {
        a["account"]: a["balance"] for a in response.json()["accounts"] if a["currency"] == "KZT"
    }


def export(demo: Demo, headers: Callable[..., dict[str, str]], path: str, **cut: str) -> Any:
    params = {"min_position": str(demo.position), **cut}
    response = demo.client.get(f"/v1/exports/{path}", params=params, headers=headers())
    assert response.status_code == 200, response.text
    return response


def amount(text: str) -> int:
    number, commodity = text.split()
    assert commodity == "KZT", text
    return minor(number)


def hledger_balances(path: Path) -> tuple[dict[str, int], str]:
    out = run(tool("hledger"), "-f", str(path), "bal", "--flat", "-O", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["account", "balance"]
    balances = {account: amount(value) for account, value in rows[1:-1]}
    assert rows[-1][0] == "total"
    return balances, rows[-1][1]


def ledger_balances(path: Path) -> tuple[dict[str, int], str]:
    fmt = "%(account)\t%(display_total)\n"
    out = run(
        tool("ledger"), "-f", str(path), "bal", "--flat", "--no-total", "--balance-format", fmt
    )
    balances = {}
    for line in out.splitlines():
        account, value = line.split("\t")
        balances[account] = amount(value)
    total = run(tool("ledger"), "-f", str(path), "bal").splitlines()[-1].strip()
    return balances, total


@pytest.mark.parametrize("cut", CUTS, ids=["all", "as-of-2024-06-30", "as-of-2023-12-31"])
def test_hledger_and_ledger_agree_with_the_service(
    demo: Demo, headers: Any, tmp_path: Path, cut: dict[str, str]
) -> None:
    response = export(demo, headers, "journal", **cut)
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    position = response.headers["x-log-position"]
    assert int(position) >= demo.position
    assert f'filename="ledger-journal-{position}' in response.headers["content-disposition"]
    journal = tmp_path / "export.journal"
    journal.write_text(response.text, encoding="utf-8")

    expected = api_balances(demo, headers, **cut)
    assert expected, "the demo dataset has balances"
    hledger, hledger_total = hledger_balances(journal)
    ledger, ledger_total = ledger_balances(journal)
    assert hledger == expected
    assert ledger == expected
    assert hledger_total == "0" and ledger_total == "0"
    assert sum(hledger.values()) == 0


def test_journal_carries_ids_actor_and_key_per_entry(demo: Demo, headers: Any) -> None:
    text = export(demo, headers, "journal").text
    page = demo.client.get(
        "/v1/journal", params={"limit": 5, "min_position": demo.position}, headers=headers()
    ).json()
    for entry in page["entries"]:
        block = text[text.index(f"; entry_id: {entry['entry_id']}") - 200 :][:2000]
        assert f"; actor: {entry['actor']}" in block
        assert f"; position: {entry['position']}" in block
        assert "; idempotency_key: demo-" in block
        assert f"{entry['value_date']} * {entry['kind']}" in block
    # One transaction per entry of the log.
    assert text.count("; entry_id: ") == text.count("\n20")


def test_known_at_cut_matches_the_service(demo: Demo, headers: Any, tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(export(demo, headers, "journal.csv").text)))
    moment = sorted(r["recorded_at"] for r in rows)[len(rows) // 2]
    response = export(demo, headers, "journal", known_at=moment)
    journal = tmp_path / "known.journal"
    journal.write_text(response.text, encoding="utf-8")
    expected = api_balances(demo, headers, known_at=moment)
    assert hledger_balances(journal)[0] == expected
    assert ledger_balances(journal)[0] == expected
    everything = api_balances(demo, headers)
    assert expected != everything, "the cut is a real point in the middle of history"
