"""The console without a browser: session cookie, CSRF, policy, formats, catalogues."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from ledger.api.policy import POLICY, route_keys
from server.app import create_app
from server.console import i18n
from server.console.session import csrf_token
from tests.conftest import app_settings, token
from tests.console.seed import HUB, key, seed

CONSOLE = Path(__file__).resolve().parents[2] / "services" / "server" / "console"


@pytest.fixture
def console() -> Iterator[TestClient]:
    with TestClient(create_app(app_settings("memory://"))) as client:
        auth = {"Authorization": f"Bearer {token()}"}

        def post(path: str, body: dict[str, object]) -> dict[str, object]:
            answer = client.post(path, json=body, headers={**auth, "Idempotency-Key": key()})
            assert answer.status_code < 300, answer.text
            return dict(answer.json())

        seed(post)
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, subject: str = "alice", roles: tuple[str, ...] = ("officer",)):
    csrf = csrf_of(client.get("/console/sign-in").text)
    return client.post(
        "/console/sign-in",
        data={"csrf": csrf, "subject": subject, "role": list(roles), "next": "/console/"},
        follow_redirects=False,
    )


def test_a_page_without_a_session_leads_to_sign_in(console: TestClient) -> None:
    answer = console.get(
        "/console/schools", headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in?next=/console/schools"


def test_sign_in_sets_a_strict_http_only_cookie_that_ends_with_the_token(
    console: TestClient,
) -> None:
    answer = sign_in(console)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("ledger_console=ey")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    max_age = int(re.search(r"Max-Age=(\d+)", cookie).group(1))  # type: ignore[union-attr]
    assert 8 * 3600 - 60 < max_age <= 8 * 3600
    assert "Secure" not in cookie  # dev: plain http on a laptop
    assert console.get("/console/").status_code == 200


def test_a_program_with_a_bearer_token_gets_pages_and_the_api_s_own_refusals(
    console: TestClient,
) -> None:
    viewer = {"Authorization": f"Bearer {token('vera', ['viewer'])}"}
    assert console.get("/console/", headers=viewer).status_code == 200
    refused = console.get("/console/journal", headers=viewer)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    anonymous = console.get("/console/journal")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


def test_a_session_cookie_outweighs_a_bearer_header(console: TestClient) -> None:
    sign_in(console, "vera", ("viewer",))
    everything = {"Authorization": f"Bearer {token()}", "Accept": "text/html"}
    assert console.get("/console/journal", headers=everything).status_code == 403


def test_an_expired_sign_in_form_is_shown_again(console: TestClient) -> None:
    answer = console.post(
        "/console/sign-in", data={"subject": "alice", "role": "officer", "csrf": "0" * 64}
    )
    assert answer.status_code == 400
    assert "ledger_console=" not in answer.headers.get("set-cookie", "")


def test_a_form_without_its_csrf_token_is_refused_and_records_nothing(
    console: TestClient,
) -> None:
    sign_in(console)
    before = console.get("/v1/journal", headers={"Authorization": f"Bearer {token()}"}).json()
    form = {"amount": "10", "category": "equipment", "value_date": "2025-04-01",
            "reference": "NO-CSRF", "idempotency_key": "console-no-csrf-1"}  # fmt: skip
    for sent in (form, {**form, "csrf": "0" * 64}):
        answer = console.post(f"/console/schools/{HUB}/expenditures", data=sent)
        assert answer.status_code == 403
        assert "Форма отклонена" in answer.text  # Russian unless the person chose otherwise
        assert "text/html" in answer.headers["content-type"]
    after = console.get("/v1/journal", headers={"Authorization": f"Bearer {token()}"}).json()
    assert len(after["entries"]) == len(before["entries"])


def test_every_console_answer_forbids_inline_script(console: TestClient) -> None:
    for path in ("/console/sign-in", "/console/static/console.css"):
        policy = console.get(path).headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy


def test_development_sign_in_is_refused_in_production(tmp_path: Path) -> None:
    settings = app_settings(f"sqlite:///{tmp_path}/l.sqlite3", env="production")
    with TestClient(create_app(settings)) as client:
        page = client.get("/console/sign-in")
        assert "f-subject" not in page.text
        # A well-formed post (its CSRF token right) is still refused.
        answer = client.post(
            "/console/sign-in",
            data={"csrf": csrf_token("n0nce"), "subject": "mallory", "role": "auditor"},
            headers={"Cookie": "ledger_console_nonce=n0nce"},
        )
        assert answer.status_code == 403
        assert "ledger_console=" not in answer.headers.get("set-cookie", "")


def test_the_policy_table_has_a_row_for_every_console_route() -> None:
    app = create_app(app_settings("memory://"))
    console_routes = [k for k in route_keys(app.routes) if k[1].startswith("/console")]
    assert len(console_routes) > 20
    assert all(k in POLICY for k in console_routes)


def test_amounts_and_dates_as_people_write_them() -> None:
    nbsp = i18n.NBSP
    assert i18n.money(25_000_000_000, "KZT", "ru") == f"250{nbsp}000{nbsp}000,00{nbsp}₸"
    assert i18n.money(25_000_000_000, "KZT", "kk") == f"250{nbsp}000{nbsp}000,00{nbsp}₸"
    assert i18n.money(25_000_000_000, "KZT", "en") == f"KZT{nbsp}250,000,000.00"
    assert i18n.money(-5, "KZT", "en") == f"KZT{nbsp}-0.05"
    assert i18n.date("2025-03-01", "ru") == "01.03.2025"
    assert i18n.date("2025-03-01", "en") == "2025-03-01"
    assert i18n.parse_amount("250 000 000,00", "KZT", "ru") == 25_000_000_000
    assert i18n.parse_amount("250,000,000.50", "KZT", "en") == 25_000_000_050
    assert i18n.parse_amount("1,005", "KZT", "ru") is None  # a third decimal is no tiyn
    assert i18n.parse_amount("NaN", "KZT", "en") is None
    assert i18n.parse_amount("", "KZT", "en") is None


def _extracted() -> set[str]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "N_": None, "translate": None}
    return {
        m[2] if isinstance(m[2], str) else m[2][0]
        for m in extract_from_dir(CONSOLE, method_map, options, keywords=keywords)
    }


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_every_message_is_translated_and_compiled(language: str) -> None:
    folder = CONSOLE / "locale" / language / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id}
    with (folder / "messages.mo").open("rb") as f:
        mo = {m.id: m.string for m in read_mo(f) if m.id}
    missing = sorted(_extracted() - {k for k, v in po.items() if v})
    assert missing == [], (
        f"untranslated in {language}: {missing} (see the README's console section)"
    )
    assert mo == po, "messages.mo is older than messages.po: pybabel compile"


def _form(client: TestClient, page: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to ``action`` on ``page``."""
    html = client.get(page).text
    form = html[html.index(f'action="{action}"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))


def test_operating_cost_in_kind_and_reversal_through_the_forms(console: TestClient) -> None:
    sign_in(console, "alice", ("officer", "auditor"))
    console.get("/console/language/en")
    api = {"Authorization": f"Bearer {token()}"}
    hidden = _form(console, "/console/record", "/console/record/operating-costs")
    cost = {**hidden, "donor": "aitas", "programme": "", "amount": "1,250,000.75",
            "category": "monitoring", "value_date": "2025-05-05", "reference": "MON-7",
            "description": ""}  # fmt: skip
    done = console.post("/console/record/operating-costs", data=cost, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/console/record?notice=recorded")
    hidden = _form(console, "/console/record", "/console/record/in-kind")
    gift = {**hidden, "donor": "nis", "kind": "teacher-training", "fair_value": "900,000",
            "valuation_basis": "36 hours at 2,500 KZT for 10 teachers", "school": HUB,
            "programme": "", "value_date": "2025-05-06", "teachers_trained": "10",
            "hours": "36"}  # fmt: skip
    done = console.post("/console/record/in-kind", data=gift, follow_redirects=False)
    assert done.status_code == 303
    journal = console.get("/v1/journal", headers=api).json()["entries"]
    recorded = {
        e["kind"]: e for e in journal if e["reference"] == "MON-7" or e["kind"] == "in-kind"
    }
    assert recorded["operating-cost"]["amount"] == 125_000_075
    assert recorded["in-kind"]["quantities"] == {"teachers_trained": 10, "hours": 36}
    position = recorded["operating-cost"]["position"]
    page = f"/console/journal/{position}"
    hidden = _form(console, page, f"{page}/reversal")
    undo = {**hidden, "reason": "entered against the wrong donor", "value_date": ""}
    done = console.post(f"{page}/reversal", data=undo, follow_redirects=False)
    assert done.status_code == 303
    assert "Reversed by" in console.get(page).text


def test_a_refused_form_keeps_what_was_typed_and_names_the_field(console: TestClient) -> None:
    sign_in(console, "alice", ("officer",))
    console.get("/console/language/en")
    hidden = _form(console, "/console/record", "/console/record/operating-costs")
    cost = {**hidden, "donor": "aitas", "amount": "10", "category": "Not A Slug!",
            "value_date": "2025-05-05", "reference": "MON-8"}  # fmt: skip
    refused = console.post("/console/record/operating-costs", data=cost)
    assert refused.status_code == 422
    assert 'id="op-e-category"' in refused.text or "Not A Slug!" in refused.text
    assert 'value="MON-8"' in refused.text
    assert _form(console, "/console/record", "/console/record/operating-costs")["idempotency_key"]


def test_an_auditor_verifies_the_digest(console: TestClient) -> None:
    sign_in(console, "aude", ("auditor",))
    console.get("/console/language/en")
    api = {"Authorization": f"Bearer {token()}"}
    digest = console.get("/v1/audit/digest", headers=api).json()
    hidden = _form(console, "/console/audit", "/console/audit/verify")
    sent = {**hidden, "position": str(digest["position"]), "hash": digest["hash"]}
    report = console.post("/console/audit/verify", data=sent)
    assert "History is intact." in report.text and "The digest matches." in report.text
    download = console.get("/console/exports/journal.csv")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment; filename=")
    assert download.text.count("\n") > 5  # streamed through whole
    console.cookies.clear()
    viewer = {"Authorization": f"Bearer {token('vera', ['viewer'])}"}
    assert console.get("/console/exports/journal.csv", headers=viewer).status_code == 403
