"""Key material: the embedded default creates its secret once; production insists on keys."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from ledger.infrastructure.keys import KeyMaterialError, load_key_material
from ledger.infrastructure.settings import Settings
from server.cli import app

LONG = "a-production-secret-that-is-long-enough-0123"


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/ledger.sqlite3", **values)  # type: ignore[arg-type]


def test_first_start_creates_a_private_secret_once(tmp_path: Path) -> None:
    said: list[str] = []
    first = load_key_material(settings(tmp_path), announce=said.append)
    secret_file = tmp_path / "jwt-secret"
    assert first.secret is not None and len(first.secret) >= 32
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert "ledger token --role officer --sub alice" in said[0]
    again = load_key_material(settings(tmp_path), announce=said.append)
    assert again.secret == first.secret
    assert len(said) == 1  # announced on creation only


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({}, "needs key material"),
        ({"jwt_secret": "short-secret"}, "too short"),
        ({"jwks_url": "https://idp.example/certs"}, "LEDGER_JWT_ISSUER"),
        ({"jwt_secret_file": "/nonexistent/secret"}, "does not exist"),
    ],
)
def test_production_refuses_without_real_keys(
    tmp_path: Path, values: dict[str, object], complaint: str
) -> None:
    with pytest.raises(KeyMaterialError, match=complaint):
        load_key_material(settings(tmp_path, env="production", **values))
    assert not (tmp_path / "jwt-secret").exists()  # production never invents one


def test_production_accepts_a_long_secret_or_a_full_jwks_setup(tmp_path: Path) -> None:
    assert load_key_material(settings(tmp_path, env="production", jwt_secret=LONG)).secret
    keys = load_key_material(
        settings(
            tmp_path,
            env="production",
            jwks_url="https://idp.example/certs",
            jwt_issuer="https://idp.example",
            jwt_audience="grant-ledger-api",
        )
    )
    assert keys.secret is None and keys.issuer == "https://idp.example"


def test_ledger_token_mints_what_the_service_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEDGER_DATABASE_URL", "memory://")  # token exports --database-url
    url = f"sqlite:///{tmp_path}/data/ledger.sqlite3"
    result = CliRunner().invoke(
        app,
        ["token", "--role", "officer", "--role", "auditor", "--sub", "alice", "--ttl", "90m",
         "--database-url", url],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    minted = result.stdout.strip().splitlines()[-1]
    secret = (tmp_path / "data" / "jwt-secret").read_bytes().strip()
    claims = jwt.decode(minted, secret, algorithms=["HS256"], audience="grant-ledger")
    assert claims["sub"] == "alice"
    assert claims["roles"] == ["auditor", "officer"]
    assert claims["iss"] == "grant-ledger"
    assert claims["exp"] - claims["iat"] == int(dt.timedelta(minutes=90).total_seconds())


def test_ledger_token_refuses_unknown_roles_and_odd_subjects(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    runner = CliRunner()
    bad_role = runner.invoke(app, ["token", "--role", "root", "--sub", "a", "--database-url", url])
    assert bad_role.exit_code == 2
    bad_sub = runner.invoke(
        app, ["token", "--role", "viewer", "--sub", "a b", "--database-url", url]
    )
    assert bad_sub.exit_code == 2
    bad_ttl = runner.invoke(
        app, ["token", "--role", "viewer", "--sub", "a", "--ttl", "9999d", "--database-url", url]
    )
    assert bad_ttl.exit_code == 2
    for reserved in ("system-expiry", "system"):
        refused = runner.invoke(
            app, ["token", "--role", "officer", "--sub", reserved, "--database-url", url]
        )
        assert refused.exit_code == 2 and "reserved" in refused.output


def test_ledger_token_ttl_is_capped_by_the_maximum_lifetime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    monkeypatch.setenv("LEDGER_JWT_MAX_LIFETIME_SECONDS", "7200")
    args = ["token", "--role", "viewer", "--sub", "a", "--database-url", url, "--ttl"]
    assert CliRunner().invoke(app, [*args, "3h"]).exit_code == 2
    assert CliRunner().invoke(app, [*args, "2h"]).exit_code == 0


def test_serve_refuses_to_start_in_production_without_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_ENV", "production")
    monkeypatch.delenv("LEDGER_JWT_SECRET", raising=False)
    monkeypatch.delenv("LEDGER_JWKS_URL", raising=False)
    # serve exports these for its workers; monkeypatch puts them back afterwards.
    monkeypatch.setenv("LEDGER_DATABASE_URL", "memory://")
    monkeypatch.setenv("LEDGER_RUN_PROJECTIONS", "true")
    result = CliRunner().invoke(
        app, ["serve", "--database-url", f"sqlite:///{tmp_path}/ledger.sqlite3"]
    )
    assert result.exit_code == 2
    assert "refusing to start" in result.output


def test_hs256_rotation_accepts_the_outgoing_secret_for_verifying_only(tmp_path: Path) -> None:
    from ledger.api.auth import TokenVerifier, Unauthenticated
    from ledger.infrastructure.keys import mint_token

    old, new = LONG, LONG.replace("a-production", "the-next-production")
    hour = dt.timedelta(hours=1)
    before = load_key_material(settings(tmp_path, jwt_secret=old))
    signed_old = mint_token(before, "a", ["viewer"], hour)
    rotating = load_key_material(settings(tmp_path, jwt_secret=new, jwt_previous_secret=old))
    signed_new = mint_token(rotating, "b", ["viewer"], hour)
    assert jwt.decode(signed_new, new, algorithms=["HS256"], audience=rotating.audience)
    verifier = TokenVerifier(rotating)
    assert verifier.verify(signed_old).subject == "a"
    assert verifier.verify(signed_new).subject == "b"
    # Once the old secret is removed, its tokens stop counting; a stranger's never did.
    done = TokenVerifier(load_key_material(settings(tmp_path, jwt_secret=new)))
    with pytest.raises(Unauthenticated):
        done.verify(signed_old)
    stranger = mint_token(
        load_key_material(settings(tmp_path, jwt_secret=LONG + "-stranger")), "c", ["viewer"], hour
    )
    with pytest.raises(Unauthenticated):
        verifier.verify(stranger)
    with pytest.raises(KeyMaterialError):
        load_key_material(settings(tmp_path, jwt_secret=new, jwt_previous_secret="short"))
