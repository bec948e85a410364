"""A real server and a real browser: uvicorn on a free loopback port, Debian's Chromium.

One server per test module (its own SQLite store and local token secret, as the embedded
default makes them), the small programme of ``seed.py`` recorded through the API. The
browser is driven by Playwright for Python; its own browser download is never used.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.infrastructure.keys import load_key_material, mint_token
from ledger.infrastructure.settings import Settings
from tests.console.seed import key, seed

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "artifacts" / "console"
START_TIMEOUT_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    base: str
    database_url: str
    grants: dict[str, str]

    def token(self, subject: str, roles: list[str]) -> str:
        keys = load_key_material(Settings(database_url=self.database_url))
        return mint_token(keys, subject, roles, dt.timedelta(hours=1))

    def api(self, subject: str = "seeder", roles: tuple[str, ...] = ("officer", "auditor")):
        return httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {self.token(subject, list(roles))}"},
            timeout=30,
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{folder}/ledger.sqlite3"
    port = _free_port()
    env = {**os.environ, "LEDGER_DATABASE_URL": url, "LEDGER_ENV": "dev"}
    for name in ("LEDGER_JWT_SECRET", "LEDGER_JWT_SECRET_FILE", "LEDGER_JWKS_URL"):
        env.pop(name, None)
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "server.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the console's server did not start: " + str(folder / "server.log"))
            time.sleep(0.2)
        served = Served(base=base, database_url=url, grants={})
        with served.api() as client:

            def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
                answer = client.post(path, json=body, headers={"Idempotency-Key": key()})
                assert answer.status_code < 300, (path, answer.status_code, answer.text)
                result: dict[str, Any] = answer.json()
                return result

            served.grants = seed(post)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if IN_CI:
            pytest.fail("playwright is required under CI=true (./scripts/test.sh installs it)")
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is required under CI=true (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} missing: apt-get install chromium")
    with sync_playwright() as p:
        # The tests run as root in containers: no sandbox there, and a small /dev/shm.
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Person:
    page: Any
    requests: list[str]


@pytest.fixture
def person(browser: Any, served: Served) -> Iterator[Callable[..., Person]]:
    """A browser context signed in through the development sign-in page."""
    contexts: list[Any] = []

    def sign_in(
        subject: str,
        roles: tuple[str, ...],
        *,
        language: str = "en",
        width: int = 1280,
        height: int = 800,
    ) -> Person:
        context = browser.new_context(
            viewport={"width": width, "height": height}, locale=language, accept_downloads=True
        )
        contexts.append(context)
        page = context.new_page()
        seen: list[str] = []
        page.on("request", lambda r: seen.append(r.url))
        page.goto(f"{served.base}/console/language/{language}?next=/console/sign-in")
        page.locator("#f-subject").fill(subject)
        for box in page.locator("input[name=role]").all():
            if box.get_attribute("value") in roles:
                box.check()
            else:
                box.uncheck()
        page.locator("form[action='/console/sign-in'] button[type=submit]").click()
        page.wait_for_url(f"{served.base}/console/")
        return Person(page=page, requests=seen)

    yield sign_in
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="session")
def english_messages() -> list[str]:
    """Message ids a Russian or Kazakh page must not show: those translated differently."""
    from babel.messages.pofile import read_po

    folder = Path(__file__).resolve().parents[2] / "services/server/console/locale"
    with (folder / "ru/LC_MESSAGES/messages.po").open("rb") as f:
        catalogue = read_po(f)
    return [
        str(m.id)
        for m in catalogue
        if m.id and m.string and m.string != m.id and "%(" not in str(m.id) and len(str(m.id)) > 2
    ]
