"""Hostile bodies: strict JSON, printable text, limits; each refused as a problem, unrecorded."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.application.app import LedgerApplication

PROBLEM = "application/problem+json"

MALFORMED = {
    "NaN": b'{"code": "qh", "name": NaN}',
    "Infinity": b'{"code": "qh", "name": "Q", "x": Infinity}',
    "-Infinity": b'{"code": "qh", "name": "Q", "x": -Infinity}',
    "duplicate key": b'{"code": "qh", "name": "Q", "name": "Other"}',
    "nested duplicate key": b'{"code": "qh", "name": "Q", "x": {"a": 1, "a": 2}}',
    "deep nesting": b"[" * 6_000 + b"]" * 6_000,
    "huge integer": b'{"code": "qh", "name": "Q", "x": ' + b"9" * 5_000 + b"}",
    "truncated": b'{"code": "qh", "name": ',
    "not utf-8": b'{"code": "qh", "name": "\xff\xfe"}',
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_json_is_400_and_records_nothing(
    client: TestClient, headers: Any, ledger: LedgerApplication, case: str
) -> None:
    head = ledger.log_head()
    response = client.post(
        "/v1/donors",
        content=MALFORMED[case],
        headers={**headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"] == "urn:grant-ledger:problem:malformed-json"
    assert ledger.log_head() == head


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "qh", "name": "a\u0000b"}, "body.name"),
        ({"code": "qh", "name": "line\nbreak"}, "body.name"),
        ({"code": "qh", "name": "x" * 201}, "body.name"),
        ({"code": "qh", "name": "Q", "extra": 1}, "body.extra"),
        ({"code": "../etc", "name": "Q"}, "body.code"),
    ],
)
def test_text_and_fields_are_validated(
    client: TestClient, headers: Any, ledger: LedgerApplication, body: Any, field: str
) -> None:
    head = ledger.log_head()
    response = client.post("/v1/donors", json=body, headers=headers())
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert ledger.log_head() == head


def test_multi_line_text_allows_newlines_but_not_nul(client: TestClient, headers: Any) -> None:
    client.post("/v1/donors", json={"code": "aitas", "name": "AITAS"}, headers=headers())
    cost = {"donor": "aitas", "amount": 100, "category": "salaries", "value_date": "2024-01-05",
            "reference": "INV-1"}  # fmt: skip
    ok = client.post(
        "/v1/operating-costs",
        json={**cost, "description": "two\nlines\tand a tab"},
        headers=headers(),
    )
    assert ok.status_code == 201, ok.text
    refused = client.post(
        "/v1/operating-costs",
        json={**cost, "reference": "INV-2", "description": "nul\u0000"},
        headers=headers(),
    )
    assert refused.status_code == 422


def test_strict_json_accepts_ordinary_bodies(client: TestClient, headers: Any) -> None:
    made = client.post(
        "/v1/donors",
        content=b'{"code": "qh", "name": "Qazaqstan halqyna \\u049b"}',
        headers={**headers(), "Content-Type": "application/json; charset=utf-8"},
    )
    assert made.status_code == 201, made.text


def test_a_caller_without_a_token_is_refused_before_the_body_is_read(
    client: TestClient,
) -> None:
    response = client.post(
        "/v1/donors",
        content=b"x" * 100_000,
        headers={"Authorization": "", "Content-Type": "application/json",
                 "Idempotency-Key": "no-token-0001"},
    )  # fmt: skip
    assert response.status_code == 401  # not 413: nobody learns anything without a token
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_positions_beyond_64_bits_are_422_not_500(client: TestClient) -> None:
    # Found by the schemathesis run: SQLite cannot bind an integer this large.
    for params in ({"after": 2**63}, {"min_position": 2**64}):
        response = client.get("/v1/journal", params=params)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith(PROBLEM)


def test_a_second_content_type_cannot_smuggle_a_duplicate_key(
    client: TestClient, headers: Any, ledger: LedgerApplication
) -> None:
    # The check must read the media type the router reads: two headers are refused.
    head = ledger.log_head()
    given = headers()
    response = client.post(
        "/v1/donors",
        content=b'{"code": "qh", "name": "Q", "name": "Other"}',
        headers=[*given.items(), ("Content-Type", "application/json"),
                 ("Content-Type", "text/plain")],
    )  # fmt: skip
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "urn:grant-ledger:problem:repeated-content-type"
    assert ledger.log_head() == head


@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded", "text/json"])
def test_a_body_that_is_not_json_is_415(
    client: TestClient, headers: Any, ledger: LedgerApplication, media: str
) -> None:
    head = ledger.log_head()
    response = client.post(
        "/v1/donors",
        content=b'{"code": "qh", "name": "Q", "name": "Other"}',
        headers={**headers(), "Content-Type": media},
    )
    assert response.status_code == 415, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"] == "urn:grant-ledger:problem:unsupported-media-type"
    assert ledger.log_head() == head


def test_a_body_without_content_type_is_parsed_strictly(
    client: TestClient, headers: Any, ledger: LedgerApplication
) -> None:
    head = ledger.log_head()
    given = {k: v for k, v in headers().items() if k.lower() != "content-type"}
    response = client.post(
        "/v1/donors", content=b'{"code": "qh", "name": "Q", "name": "Other"}', headers=given
    )
    assert response.status_code == 400, response.text
    assert ledger.log_head() == head


def test_strict_json_hands_its_parse_to_the_route() -> None:
    # A route that reads the JSON itself takes the middleware's strict parse, not a second one.
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from ledger.api.strict_json import StrictJson, parsed_body

    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse({"seen": parsed_body(request.scope, body), "bytes": len(body)})

    app = Starlette(routes=[Route("/echo", echo, methods=["POST"])])
    app.add_middleware(StrictJson)
    with TestClient(app) as plain:
        answer = plain.post("/echo", content=b'{"a": [1, {"b": 2}]}')
        assert answer.json() == {"seen": {"a": [1, {"b": 2}]}, "bytes": 20}
        refused = plain.post("/echo", content=b'{"a": 1, "a": 2}')
        assert refused.status_code == 400
        assert refused.json()["type"].endswith("malformed-json")
