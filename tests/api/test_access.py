"""Every route of the real app x every kind of caller: allowed or refused exactly per policy.

The routes come from the app itself (its OpenAPI document plus the routes it hides from
it), never from the policy table, so a route added without a rule fails here.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from ledger.api import policy
from ledger.api.auth import ROLES
from ledger.application.app import LedgerApplication
from ledger.infrastructure.keys import KeyMaterial, mint_token
from server.app import create_app
from tests.conftest import TEST_JWT_SECRET, app_settings, make_app, token

PROBLEM = "application/problem+json"
HOUR = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def plain() -> Iterator[tuple[FastAPI, TestClient, LedgerApplication]]:
    """The app on the in-memory store, with a client that adds no credentials itself."""
    ledger = make_app("memory://")
    app = create_app(app_settings("memory://"), ledger=ledger)
    with TestClient(app) as client:
        yield app, client, ledger
    ledger.close()


def _keys(**overrides: Any) -> KeyMaterial:
    values: dict[str, Any] = {
        "secret": TEST_JWT_SECRET.encode(),
        "jwks_url": None,
        "issuer": "grant-ledger",
        "audience": "grant-ledger",
        "leeway_seconds": 30,
        **overrides,
    }
    return KeyMaterial(**values)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tampered() -> str:
    """A viewer's genuine token whose payload was edited to claim every role."""
    header, payload, signature = token("mallory", ["viewer"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = list(ROLES)
    return f"{header}.{_b64(claims)}.{signature}"


def _alg_none() -> str:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {"iss": "grant-ledger", "aud": "grant-ledger", "sub": "mallory",
              "roles": list(ROLES), "iat": now, "exp": now + 3600}  # fmt: skip
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def _minted(**overrides: Any) -> str:
    return mint_token(_keys(**overrides), "mallory", ROLES, HOUR)


# Callers that must be refused everywhere but on public routes, with 401.
BAD_TOKENS: dict[str, Any] = {
    "no token": lambda: None,
    "expired": lambda: mint_token(
        _keys(), "alice", ROLES, HOUR, now=dt.datetime.now(dt.UTC) - 2 * HOUR
    ),
    "wrong issuer": lambda: _minted(issuer="https://evil.example"),
    "wrong audience": lambda: _minted(audience="another-service"),
    "wrong secret": lambda: _minted(secret=b"another-secret-of-at-least-32-bytes!!"),
    "tampered payload": _tampered,
    "alg none": _alg_none,
    "not a jwt": lambda: "not.a.jwt",
}
# Callers with a valid token: each single role, none, and a person with two roles.
ROLE_SETS: dict[str, tuple[str, ...]] = {
    **{role: (role,) for role in ROLES},
    "no roles": (),
    "officer+auditor": ("officer", "auditor"),
}


def _concrete(path: str) -> str:
    return (
        path.replace("{grant_id}", str(uuid.uuid4()))
        .replace("{entry_id}", str(uuid.uuid4()))
        .replace("{code}", "some-code")
        .replace("{period}", "2024-03")
    )


def _all_routes(app: FastAPI) -> list[tuple[str, str]]:
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    served = set(policy.route_keys(app.routes))
    assert documented <= served  # the document shows only served routes
    assert ("GET", "/metrics") in served  # hidden from the document, still covered
    return sorted(served)


def _call(client: TestClient, method: str, path: str, bearer: str | None) -> Any:
    headers = {"Idempotency-Key": f"access-{uuid.uuid4().hex[:16]}"}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    # An empty object: an allowed recording request is refused as invalid, records nothing.
    body = {} if method in ("POST", "PUT", "PATCH") else None
    # The SSE tail streams until max_seconds: one second is enough to see it admitted.
    params = {"max_seconds": 1} if path.endswith("/stream") else None
    return client.request(method, _concrete(path), headers=headers, json=body, params=params)


@pytest.mark.parametrize("caller", sorted(BAD_TOKENS))
def test_bad_credentials_are_401_on_every_guarded_route(
    plain: tuple[FastAPI, TestClient, LedgerApplication], caller: str
) -> None:
    app, client, ledger = plain
    head = ledger.log_head()
    bearer = BAD_TOKENS[caller]()
    wrong = []
    for method, path in _all_routes(app):
        response = _call(client, method, path, bearer)
        if policy.POLICY[method, path] is policy.PUBLIC:
            if response.status_code in (401, 403):
                wrong.append(f"{method} {path}: public but {response.status_code}")
            continue
        challenge = response.headers.get("www-authenticate", "")
        if (
            response.status_code != 401
            or not response.headers["content-type"].startswith(PROBLEM)
            or not challenge.startswith("Bearer")
            or (bearer is not None and 'error="invalid_token"' not in challenge)
        ):
            wrong.append(f"{method} {path}: {response.status_code} {challenge!r}")
    assert wrong == []
    assert ledger.log_head() == head


@pytest.mark.parametrize("caller", sorted(ROLE_SETS))
def test_each_role_reaches_exactly_what_the_policy_grants(
    plain: tuple[FastAPI, TestClient, LedgerApplication], caller: str
) -> None:
    app, client, ledger = plain
    head = ledger.log_head()
    roles = set(ROLE_SETS[caller])
    bearer = token(f"user-{caller.replace('+', '-').replace(' ', '-')}", sorted(roles))
    wrong = []
    for method, path in _all_routes(app):
        rule = policy.POLICY[method, path]
        response = _call(client, method, path, bearer)
        allowed = rule is policy.PUBLIC or bool(roles & rule)
        if allowed and response.status_code in (401, 403):
            wrong.append(f"{method} {path}: allowed but {response.status_code}")
        if not allowed and (
            response.status_code != 403
            or not response.headers["content-type"].startswith(PROBLEM)
            or response.json()["type"] != "urn:grant-ledger:problem:forbidden"
        ):
            wrong.append(f"{method} {path}: should be 403, got {response.status_code}")
    assert wrong == []
    assert ledger.log_head() == head


def test_the_policy_is_what_the_readme_promises() -> None:
    # Spot checks of the decisions an auditor would ask about.
    p = policy.POLICY
    assert p["POST", "/v1/grants/{grant_id}/disbursements"] == {"officer"}
    assert "auditor" not in p["POST", "/v1/grants"]
    assert "viewer" in p["GET", "/v1/balances/schools/{code}"]
    assert "viewer" not in p["GET", "/v1/journal"]
    assert "auditor" in p["GET", "/v1/journal"]
    assert p["GET", "/metrics"] == {"metrics"}
    assert p["POST", "/v1/approvals/{entry_id}/approve"] == {"approver"}
    assert p["POST", "/v1/periods/{period}/close"] == {"approver"}
    assert "officer" not in p["POST", "/v1/approvals/{entry_id}/approve"]
    assert p["GET", "/v1/events"] == {"auditor"}
    assert p["GET", "/healthz"] is policy.PUBLIC
    assert policy.effective(metrics_public=True)["GET", "/metrics"] is policy.PUBLIC


def test_an_app_with_an_unruled_route_refuses_to_start() -> None:
    app = create_app(app_settings("memory://"), ledger=make_app("memory://"))
    extra = APIRouter()

    @extra.get("/v1/unguarded")
    def unguarded() -> dict[str, str]:
        return {}

    app.include_router(extra)
    with pytest.raises(RuntimeError, match="GET /v1/unguarded"):
        policy.require_complete(app, policy.POLICY)


def test_metrics_can_be_made_public(tmp_path: Any) -> None:
    ledger = make_app("memory://")
    app = create_app(app_settings("memory://", metrics_public=True), ledger=ledger)
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/v1/journal").status_code == 401
    ledger.close()


def test_clock_skew_within_leeway_is_accepted(
    plain: tuple[FastAPI, TestClient, LedgerApplication],
) -> None:
    _, client, _ = plain
    now = dt.datetime.now(dt.UTC)

    def expired_ago(seconds: int) -> dict[str, str]:
        issued = now - HOUR - dt.timedelta(seconds=seconds)
        return {
            "Authorization": f"Bearer {mint_token(_keys(), 'alice', ['viewer'], HOUR, now=issued)}"
        }

    url = "/v1/balances/trial-balance"
    assert client.get(url, headers=expired_ago(10)).status_code == 200  # leeway is 30 s
    refused = client.get(url, headers=expired_ago(60))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "the token has expired"


def test_refusals_are_counted_by_reason(
    plain: tuple[FastAPI, TestClient, LedgerApplication],
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    _, client, _ = plain

    def counts() -> dict[str, float]:
        text = client.get(
            "/metrics", headers={"Authorization": f"Bearer {token('prom', ['metrics'])}"}
        ).text
        return {
            s.labels["reason"]: s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "ledger_auth_refusals_total"
        }

    before = counts()
    client.get("/v1/journal")
    client.get("/v1/journal", headers={"Authorization": "Bearer not.a.jwt"})
    client.get("/v1/journal", headers={"Authorization": f"Bearer {token('v', ['viewer'])}"})
    after = counts()
    for reason in ("missing_token", "invalid_token", "forbidden"):
        assert after[reason] == before.get(reason, 0) + 1, reason
