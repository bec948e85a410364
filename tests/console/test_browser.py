"""People using the console in Chromium, against a real server on a loopback port."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.console.conftest import IN_CI, Person, Served, screenshot
from tests.console.seed import HUB, HUB_NAME, OTHER_HUB
from tests.imports.registers import expenditure_rows, register_csv

try:
    from playwright.sync_api import expect
except ImportError:
    if IN_CI:
        raise
    pytest.skip("playwright is not installed (pip install -e '.[dev]')", allow_module_level=True)

NBSP = "\u00a0"


def text(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.inner_text()).replace(NBSP, " ")


def only_this_origin(person: Person, served: Served) -> None:
    strangers = [u for u in person.requests if not u.startswith(served.base + "/")]
    assert strangers == []


def entries(served: Served, **params: str) -> list[dict[str, Any]]:
    with served.api() as api:
        found: list[dict[str, Any]] = api.get("/v1/journal", params=params).json()["entries"]
    return found


def test_an_officer_finds_a_school_by_part_of_its_name_and_records_a_disbursement(
    person: Any, served: Served
) -> None:
    alice = person("alice", ("officer",))
    page = alice.page
    screenshot(page, "overview-en")
    page.get_by_role("link", name="Schools", exact=True).click()
    page.get_by_label("Name or code").fill("Хромтау")  # part of the name, typed
    page.wait_for_url(re.compile(r".*/console/schools\?.*q=.*"))
    page.get_by_role("link", name=HUB_NAME).click()
    page.wait_for_url(f"{served.base}/console/schools/{HUB}")
    assert text(page, "td[data-cash=KZT]") == "KZT 27,500,000.00"
    page.locator("table a[href^='/console/grants/']").first.click()
    page.get_by_label("Amount, KZT").fill("1,000,000.50")
    page.get_by_label("Value date").fill("2025-04-01")
    page.get_by_label("Payment order reference").fill("PO-CONSOLE-1")
    page.get_by_role("button", name="Record disbursement").click()
    page.wait_for_url(f"{served.base}/console/schools/{HUB}?notice=recorded")
    assert text(page, "td[data-cash=KZT]") == "KZT 28,500,000.50"
    screenshot(page, "school-en")
    only_this_origin(alice, served)


def test_a_refused_disbursement_shows_the_api_problem_next_to_the_amount(
    person: Any, served: Served
) -> None:
    page = person("alice", ("officer",)).page
    page.goto(f"{served.base}/console/grants/{served.grants[OTHER_HUB]}")
    page.get_by_label("Amount, KZT").fill("250,000,001")
    page.get_by_label("Value date").fill("2025-04-01")
    page.get_by_label("Payment order reference").fill("PO-TOO-MUCH")
    page.get_by_role("button", name="Record disbursement").click()
    assert "exceeds-undisbursed-commitment" in text(page, ".problem")
    assert page.locator("#f-amount").get_attribute("aria-invalid") == "true"
    page.get_by_label("Amount, KZT").fill("12 abc")
    page.get_by_role("button", name="Record disbursement").click()
    assert "Enter an amount such as" in text(page, "#f-e-amount")


def test_four_eyes_the_maker_cannot_approve_a_second_approver_can(
    person: Any, served: Served
) -> None:
    maker = person("maker", ("officer", "approver"))
    page = maker.page
    page.goto(f"{served.base}/console/grants/{served.grants[OTHER_HUB]}")
    page.get_by_label("Amount, KZT").fill("60,000,000")
    page.get_by_label("Value date").fill("2025-04-02")
    page.get_by_label("Payment order reference").fill("PO-BIG-1")
    page.get_by_role("button", name="Record disbursement").click()
    page.wait_for_url(re.compile(r".*notice=pending"))
    page.get_by_role("link", name="Approvals", exact=True).click()
    item = page.locator("article", has_text="PO-BIG-1")
    assert "maker (you)" in item.locator(".maker").inner_text()
    item.get_by_label("Reason").fill("looks right")
    item.get_by_role("button", name="Approve").click()
    assert page.locator("article", has_text="PO-BIG-1").locator(".problem").count() == 1
    assert "self-approval-forbidden" in text(page, ".problem")
    screenshot(page, "approvals-en")

    checker = person("checker", ("approver",))
    page = checker.page
    page.get_by_role("link", name="Approvals", exact=True).click()
    item = page.locator("article", has_text="PO-BIG-1")
    item.get_by_label("Reason").fill("budget line confirmed")
    item.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(r".*notice=approved"))
    posted = [e for e in entries(served, school=OTHER_HUB) if e["reference"] == "PO-BIG-1"]
    assert len(posted) == 1
    assert (posted[0]["requested_by"], posted[0]["approved_by"]) == ("maker", "checker")
    only_this_origin(maker, served)
    only_this_origin(checker, served)


def test_a_viewer_sees_balances_but_no_journal(person: Any, served: Served) -> None:
    viewer = person("vera", ("viewer",))
    page = viewer.page
    assert "Qazaqstan halqyna" in page.locator("main").inner_text()
    menu = page.get_by_role("navigation", name="Main menu")
    assert menu.get_by_role("link", name="Journal").count() == 0
    assert menu.get_by_role("link", name="Grants").count() == 0
    page.goto(f"{served.base}/console/schools/{HUB}")
    assert text(page, "td[data-cash=KZT]").startswith("KZT ")
    assert page.get_by_role("heading", name="History").count() == 0
    answer = page.goto(f"{served.base}/console/journal")
    assert answer.status == 403
    assert "Your roles do not allow" in page.locator("main").inner_text()
    only_this_origin(viewer, served)


def test_a_form_without_its_csrf_token_is_refused(person: Any, served: Served) -> None:
    page = person("alice", ("officer",)).page
    page.goto(f"{served.base}/console/schools/{HUB}")
    before = len(entries(served, school=HUB))
    page.locator("form[action$='/expenditures'] input[name=csrf]").evaluate("e => e.remove()")
    page.get_by_label("Amount, KZT").fill("100")
    page.get_by_label("Category", exact=True).fill("equipment")
    page.get_by_label("Value date").fill("2025-04-03")
    page.get_by_label("Reference", exact=True).fill("INV-NO-CSRF")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Record expenditure").click()
    assert posted.value.status == 403
    assert page.get_by_role("heading", name="Form refused").count() == 1
    assert len(entries(served, school=HUB)) == before


def test_a_double_submitted_form_records_once(person: Any, served: Served) -> None:
    page = person("alice", ("officer",)).page
    page.goto(f"{served.base}/console/schools/{HUB}")
    page.get_by_label("Amount, KZT").fill("2,000")
    page.get_by_label("Category", exact=True).fill("furniture")
    page.get_by_label("Value date").fill("2025-04-04")
    page.get_by_label("Reference", exact=True).fill("INV-TWICE")
    form = page.locator("form[action$='/expenditures']")
    fields = dict(
        form.evaluate("f => Array.from(new FormData(f).entries())")
    )  # what the browser would send, hidden idempotency key and CSRF token included
    action = f"{served.base}/console/schools/{HUB}/expenditures"
    first = page.request.post(action, form=fields, max_redirects=0)
    second = page.request.post(action, form=fields, max_redirects=0)
    assert (first.status, second.status) == (303, 303)
    # And a real double click on a fresh form's button.
    page.goto(f"{served.base}/console/schools/{HUB}")
    page.get_by_label("Amount, KZT").fill("3,000")
    page.get_by_label("Category", exact=True).fill("furniture")
    page.get_by_label("Value date").fill("2025-04-04")
    page.get_by_label("Reference", exact=True).fill("INV-DOUBLE-CLICK")
    page.get_by_role("button", name="Record expenditure").dblclick()
    # The second click may cancel the first navigation: wait for where both lead.
    expect(page).to_have_url(re.compile(r".*notice=recorded"))
    references = [e["reference"] for e in entries(served, school=HUB, kind="expenditure")]
    assert references.count("INV-TWICE") == 1
    assert references.count("INV-DOUBLE-CLICK") == 1


def test_the_console_fits_a_phone(person: Any, served: Served) -> None:
    page = person("alice", ("officer", "auditor"), width=390, height=844).page
    for path in ("/console/", f"/console/schools/{HUB}", "/console/journal"):
        page.goto(served.base + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, path
    screenshot(page, "journal-phone-en")


WORDS_BUT_CODE = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll("code").forEach(c => c.remove());
  return copy.textContent;
}"""
# Every form control a person can reach must have a name a screen reader can say.
UNLABELLED = """() => Array.from(
  document.querySelectorAll("input:not([type=hidden]), select, textarea, button, a[href]")
).filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label")
  && !(e.textContent || "").trim()).map(e => e.outerHTML.slice(0, 80))"""
PAGES = {
    "overview": "/console/",
    "schools": "/console/schools",
    "school": f"/console/schools/{HUB}",
    "grants": "/console/grants",
    "record": "/console/record",
    "approvals": "/console/approvals",
    "journal": "/console/journal",
    "audit": "/console/audit",
}


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_every_page_renders_in_each_language_with_nothing_left_untranslated(
    person: Any, served: Served, language: str, english_messages: list[str]
) -> None:
    everyone = ("officer", "approver", "auditor")
    someone = person("polyglot", everyone, language=language)
    page = someone.page
    first = entries(served, school=HUB)[0]["position"]
    pages = {
        **PAGES,
        "grant": f"/console/grants/{served.grants[HUB]}",
        "entry": f"/console/journal/{first}",
    }
    for name, path in pages.items():
        answer = page.goto(served.base + path)
        assert answer.status == 200, path
        assert page.locator("html").get_attribute("lang") == language
        if language != "en":
            # Identifiers (event types, accounts, ids) are shown as code, never translated.
            shown = page.evaluate(WORDS_BUT_CODE)
            left = [
                m
                for m in english_messages
                if re.search(rf"(?<![\w-]){re.escape(m)}(?![\w-])", shown)
            ]
            assert left == [], (path, left)
        assert page.evaluate(UNLABELLED) == [], path
        if language == "en" or name in ("overview", "school"):
            screenshot(page, f"{name}-{language}")
    if language == "ru":
        page.goto(f"{served.base}/console/schools/{HUB}")
        assert re.fullmatch(r"\d{1,3}( \d{3})*,\d{2} ₸", text(page, "td[data-cash=KZT]"))
        page.goto(f"{served.base}/console/journal")
        assert re.search(r"\b\d{2}\.\d{2}\.\d{4}\b", page.locator("table").inner_text())
    only_this_origin(someone, served)


def test_the_keyboard_reaches_the_menu_and_a_search(person: Any, served: Served) -> None:
    page = person("alice", ("officer",)).page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Schools":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(f"{served.base}/console/schools")
    page.get_by_label("Name or code").focus()
    page.keyboard.type("talgar")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*q=talgar.*"))
    assert page.get_by_role("link", name="Талгарская опорная школа").count() == 1


def test_an_officer_previews_a_register_then_imports_it(
    person: Any, served: Served, tmp_path: Any
) -> None:
    rows = expenditure_rows(2, school=HUB, seed=11)
    register = tmp_path / "register.csv"
    register.write_bytes(register_csv("expenditures", rows))
    references = {r["reference"] for r in rows}

    def imported() -> list[dict[str, Any]]:
        return [e for e in entries(served, school=HUB) if e["reference"] in references]

    officer = person("importer", ("officer",))
    page = officer.page
    page.get_by_role("link", name="Imports", exact=True).click()
    expect(page.locator("a[href='/console/imports/templates/expenditures.xlsx']")).to_be_visible()
    page.get_by_label("File", exact=True).set_input_files(str(register))
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Preview: nothing recorded yet")).to_be_visible()
    lines = page.locator("table.import-lines tbody tr")
    expect(lines).to_have_count(2)
    expect(lines.first).to_contain_text("Ready")
    assert imported() == []  # a dry run records nothing
    screenshot(page, "imports-preview-en")
    page.get_by_role("button", name="Confirm and record").click()
    expect(page.get_by_role("heading", name="Import recorded")).to_be_visible()
    expect(page.locator("table.import-lines tbody tr").first).to_contain_text("Recorded")
    assert len(imported()) == 2
    only_this_origin(officer, served)


def test_the_reconciliation_page_renders_for_a_school(person: Any, served: Served) -> None:
    page = person("reconciler", ("officer",)).page
    page.get_by_role("link", name="Reconciliation", exact=True).click()
    page.get_by_label("Code").fill(HUB)
    page.get_by_label("From").fill("2025-01-01")
    page.get_by_label("To").fill("2025-03-31")
    page.get_by_role("button", name="Reconcile").click()
    expect(page.get_by_role("heading", name="Balances")).to_be_visible()
    expect(page.locator("table.reconciliation")).to_be_visible()
    expect(page.locator("a[href^='/console/reconciliation.csv?kind=school']")).to_be_visible()
    screenshot(page, "reconciliation-en")
