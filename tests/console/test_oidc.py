"""Production sign-in: OpenID Connect code flow with PKCE against a provider played by a thread.

The provider serves discovery, its JWKS and a token endpoint that hands out a Keycloak-like
RS256 access token only for the code it issued and the verifier whose S256 challenge it saw.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from server.app import create_app
from tests.conftest import app_settings

AUDIENCE = "grant-ledger-api"
CLIENT = "grant-ledger-console"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Provider:
    def __init__(self) -> None:
        self.challenges: dict[str, str] = {}  # code -> S256 challenge
        self.roles = ["officer"]
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}/realms/hub"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.endswith("/.well-known/openid-configuration"):
                    self._json(200, {
                        "issuer": provider.issuer,
                        "authorization_endpoint": provider.issuer + "/auth",
                        "token_endpoint": provider.issuer + "/token",
                        "jwks_uri": provider.issuer + "/certs",
                    })  # fmt: skip
                elif self.path.endswith("/certs"):
                    jwk = RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True)
                    self._json(200, {"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]})
                else:
                    self._json(404, {})

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                challenge = provider.challenges.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                proof = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                if challenge is None or proof.rstrip(b"=").decode() != challenge:
                    self._json(400, {"error": "invalid_grant"})
                    return
                self._json(200, {"access_token": provider.token(), "token_type": "Bearer"})

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def token(self) -> str:
        now = dt.datetime.now(dt.UTC)
        claims = {
            "iss": self.issuer, "aud": AUDIENCE, "sub": str(uuid.uuid4()), "iat": now,
            "exp": now + dt.timedelta(minutes=5), "realm_access": {"roles": self.roles},
        }  # fmt: skip
        return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    thread = threading.Thread(target=p.server.serve_forever, daemon=True)
    thread.start()
    yield p
    p.server.shutdown()
    p.server.server_close()


@pytest.fixture
def production(provider: Provider, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("LEDGER_CONSOLE_OIDC_CLIENT_ID", CLIENT)
    settings = app_settings(
        "memory://", env="production", jwt_secret=None, jwks_url=provider.issuer + "/certs",
        jwt_issuer=provider.issuer, jwt_audience=AUDIENCE,
    )  # fmt: skip
    with TestClient(create_app(settings), base_url="https://ledger.example") as client:
        yield client


def _authorize(client: TestClient, provider: Provider) -> dict[str, str]:
    """The browser's trip to the provider: the provider remembers the challenge for a code."""
    start = client.get("/console/oidc/start?next=/console/schools", follow_redirects=False)
    assert start.status_code == 303
    location = urlsplit(start.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == provider.issuer + "/auth"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["code_challenge_method"] == "S256" and query["client_id"] == CLIENT
    assert query["redirect_uri"] == "https://ledger.example/console/oidc/callback"
    cookie = start.headers["set-cookie"]
    assert "SameSite=lax" in cookie and "Secure" in cookie and "Path=/console/oidc" in cookie
    code = uuid.uuid4().hex
    provider.challenges[code] = query["code_challenge"]
    return {"code": code, "state": query["state"]}


def test_the_code_flow_with_pkce_signs_a_person_in(
    production: TestClient, provider: Provider
) -> None:
    sign_in = production.get("/console/sign-in")
    assert "/console/oidc/start" in sign_in.text and "f-subject" not in sign_in.text
    back = production.get("/console/oidc/callback", params=_authorize(production, provider))
    assert back.status_code == 200
    assert 'http-equiv="refresh" content="0;url=/console/schools"' in back.text
    session = next(c for c in back.headers.get_list("set-cookie") if "ledger_console=" in c)
    assert "Secure" in session and "SameSite=strict" in session and "HttpOnly" in session
    assert production.get("/console/schools").status_code == 200


def test_a_callback_with_a_foreign_state_or_a_replayed_code_signs_no_one_in(
    production: TestClient, provider: Provider
) -> None:
    params = _authorize(production, provider)
    forged = production.get("/console/oidc/callback", params={**params, "state": "forged"})
    assert forged.status_code == 400
    assert "ledger_console=" not in forged.headers.get("set-cookie", "")
    first = production.get("/console/oidc/callback", params=params)
    assert first.status_code == 200
    production.cookies.clear()
    production.get("/console/oidc/start", follow_redirects=False)  # a new flow cookie
    replay = production.get("/console/oidc/callback", params=params)
    assert replay.status_code == 400  # its state belonged to the first flow


def test_a_token_without_a_ledger_role_opens_nothing(
    production: TestClient, provider: Provider
) -> None:
    provider.roles = ["offline_access"]
    back = production.get("/console/oidc/callback", params=_authorize(production, provider))
    assert back.status_code == 200  # signed in, but the policy table grants nothing
    assert production.get("/console/schools", headers={"Accept": "text/html"}).status_code == 403


def test_a_token_too_large_for_a_cookie_is_explained_not_looped(
    production: TestClient, provider: Provider
) -> None:
    provider.roles = [
        "officer",
        *(f"group-{i:04d}-of-a-very-large-organisation" for i in range(120)),
    ]
    back = production.get("/console/oidc/callback", params=_authorize(production, provider))
    assert back.status_code == 401
    assert "more than a browser cookie holds" in back.text
