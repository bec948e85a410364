"""Production path: RS256/ES256 tokens checked against a JWKS document served by the test.

The identity provider is played by a local HTTP server thread; tokens look like
Keycloak's (roles under ``realm_access``, a UUID ``sub``).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from ledger.api.auth import KeysUnavailable, TokenVerifier
from ledger.infrastructure.keys import KeyMaterial
from server.app import create_app
from tests.conftest import app_settings, make_app

ISSUER = "https://idp.example/realms/hub-schools"
AUDIENCE = "grant-ledger-api"

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks() -> dict[str, Any]:
    rsa_jwk = RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True)
    ec_jwk = ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True)
    return {
        "keys": [
            {**rsa_jwk, "kid": "rsa-1", "alg": "RS256", "use": "sig"},
            {**ec_jwk, "kid": "ec-1", "alg": "ES256", "use": "sig"},
        ]
    }


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    body = json.dumps(_jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/realms/hub-schools/certs"
    server.shutdown()
    server.server_close()


@pytest.fixture
def idp_client(jwks_url: str) -> Iterator[tuple[TestClient, Any]]:
    ledger = make_app("memory://")
    settings = app_settings(
        "memory://",
        env="production",
        jwt_secret=None,
        jwks_url=jwks_url,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
    )
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield client, ledger
    ledger.close()


def idp_token(
    roles: list[str],
    *,
    sub: str | None = None,
    key: Any = RSA_KEY,
    alg: str = "RS256",
    kid: str = "rsa-1",
    **claims: Any,
) -> str:
    now = dt.datetime.now(dt.UTC)
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub or str(uuid.uuid4()),
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
        "realm_access": {"roles": ["offline_access", *roles]},
        **claims,
    }
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def bearer(t: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {t}", **extra}


def test_rs256_officer_records_and_the_subject_is_recorded(
    idp_client: tuple[TestClient, Any],
) -> None:
    client, ledger = idp_client
    sub = str(uuid.uuid4())
    made = client.post(
        "/v1/donors",
        json={"code": "qazaqstan-halqyna", "name": "Qazaqstan halqyna"},
        # An X-Actor header is no longer believed: the token's subject is the actor.
        headers=bearer(
            idp_token(["officer"], sub=sub),
            **{"Idempotency-Key": "idp-0001-aa", "X-Actor": "mallory"},
        ),
    )
    assert made.status_code == 201, made.text
    stored = ledger.recorder.select_notifications(start=1, limit=10)
    assert len(stored) == 2  # the registration and its idempotency claim
    assert {json.loads(n.state)["actor"] for n in stored} == {sub}


def test_es256_auditor_reads_but_cannot_record(idp_client: tuple[TestClient, Any]) -> None:
    client, _ = idp_client
    auditor = idp_token(["auditor"], key=EC_KEY, alg="ES256", kid="ec-1")
    assert client.get("/v1/journal", headers=bearer(auditor)).status_code == 200
    refused = client.post(
        "/v1/donors",
        json={"code": "aitas", "name": "AITAS"},
        headers=bearer(auditor, **{"Idempotency-Key": "idp-0002-aa"}),
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_client_roles_for_this_audience_count_too(idp_client: tuple[TestClient, Any]) -> None:
    client, _ = idp_client
    t = idp_token([], resource_access={AUDIENCE: {"roles": ["viewer"]}, "other": {"roles": []}})
    assert client.get("/v1/balances/trial-balance", headers=bearer(t)).status_code == 200
    assert client.get("/v1/journal", headers=bearer(t)).status_code == 403


@pytest.mark.parametrize(
    ("case", "make"),
    [
        ("unknown kid", lambda: idp_token(["officer"], kid="rsa-404")),
        ("signed by another key", lambda: idp_token(["officer"], key=OTHER_RSA_KEY)),
        ("wrong issuer", lambda: idp_token(["officer"], iss="https://evil.example")),
        ("wrong audience", lambda: idp_token(["officer"], aud="account")),
        ("expired", lambda: idp_token(["officer"], exp=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))),
        ("no exp", lambda: idp_token(["officer"], exp=None)),
        (
            "HS256 with no secret configured",
            lambda: jwt.encode(
                {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": 2_000_000_000},
                "a-guessed-shared-secret-of-32-bytes-at-least",
                algorithm="HS256",
            ),
        ),
    ],
)
def test_bad_idp_tokens_are_401(idp_client: tuple[TestClient, Any], case: str, make: Any) -> None:
    client, _ = idp_client
    response = client.get("/v1/journal", headers=bearer(make()))
    assert response.status_code == 401, case
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_unreachable_jwks_is_503_not_401() -> None:
    keys = KeyMaterial(
        secret=None,
        jwks_url="http://127.0.0.1:9/certs",  # discard port: nothing listens
        issuer=ISSUER,
        audience=AUDIENCE,
        leeway_seconds=30,
    )
    with pytest.raises(KeysUnavailable):
        TokenVerifier(keys).verify(idp_token(["officer"]))
