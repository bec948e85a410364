"""Schemathesis over every operation of the real app's OpenAPI document, with valid tokens.

Generated requests (valid and deliberately invalid: wrong types, out-of-range values,
missing and extra fields, odd headers) must never produce a 5xx; every 4xx must be an
RFC 9457 problem; and a refused request must record nothing (the log head is unchanged).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from ledger.application.app import LedgerApplication
from server.app import create_app
from tests.conftest import app_settings, make_app, token

PROBLEM = "application/problem+json"
_sent = itertools.count()


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[tuple[TestClient, LedgerApplication]]:
    ledger = make_app("memory://")
    # A short read wait: generated min_position values are mostly beyond the log head.
    app = create_app(app_settings("memory://", read_wait_seconds=0.05), ledger=ledger)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, ledger
    ledger.close()


def _document() -> dict[str, Any]:
    # Collection needs the operations, so the document comes from an app built (never
    # started) at import; the requests go to the started app of the fixture above.
    ledger = make_app("memory://")
    try:
        return create_app(app_settings("memory://"), ledger=ledger).openapi()
    finally:
        ledger.close()


schema = schemathesis.openapi.from_dict(
    _document(), config=schemathesis.Config.from_dict({"generation": {"max-examples": 15}})
)


def _send(client: TestClient, case: Any) -> Any:
    """Send a generated case through the app's own client, with a valid all-roles token."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    headers = {
        k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "authorization"
    }
    headers["Authorization"] = f"Bearer {token('fuzzer')}"
    n = next(_sent)
    if n % 3:
        # Two in three get a well-formed key and no (random, so malformed) If-Match, so
        # valid bodies get as far as being recorded; the rest keep the generated headers.
        headers = {
            k: v for k, v in headers.items() if k.lower() not in ("idempotency-key", "if-match")
        }
        headers["Idempotency-Key"] = f"fuzz-key-{n:08d}"
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        body["content"] = data.encode() if isinstance(data, str) else data
    params = kwargs.get("params")
    if kwargs["url"].endswith("/v1/events/stream"):
        # The live tail streams for max_seconds (up to an hour): bound it, fuzz the rest.
        params = {**(params or {}), "max_seconds": 1}
    return client.request(
        kwargs["method"],
        kwargs["url"],
        params=params,
        headers=headers,
        cookies=kwargs.get("cookies"),
        **body,
    )


@schema.parametrize()
@settings(
    # CI gates on a reproducible run; LEDGER_FUZZ_RANDOM=1 explores new inputs each time
    # (run it locally or nightly: the 0000-01 period 500 was found that way).
    derandomize=not os.environ.get("LEDGER_FUZZ_RANDOM"),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_5xx_problems_for_4xx_and_refusals_record_nothing(
    case: Any, fuzzed: tuple[TestClient, LedgerApplication]
) -> None:
    client, ledger = fuzzed
    head = ledger.log_head()
    response = _send(client, case)
    lagging = response.status_code == 503 and response.json().get("type", "").endswith(
        "projection-lagging"
    )
    # Asking to wait for a position the log has not reached is answered 503 by design.
    assert response.status_code < 500 or lagging, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(PROBLEM), response.text
        assert ledger.log_head() == head, f"a refused request recorded: {response.text}"
