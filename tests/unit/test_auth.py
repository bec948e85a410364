"""Token verification details: roles from each claim shape, the verified-token cache."""

from __future__ import annotations

import datetime as dt
import time

import jwt
import pytest

from ledger.api.auth import TokenVerifier, Unauthenticated, roles_of
from ledger.infrastructure.keys import KeyMaterial, mint_token

KEYS = KeyMaterial(
    secret=b"unit-test-secret-of-at-least-32-bytes",
    jwks_url=None,
    issuer="grant-ledger",
    audience="grant-ledger",
    leeway_seconds=0,
)


def test_roles_from_every_supported_claim_and_nothing_else() -> None:
    claims = {
        "roles": ["officer", "admin"],
        "realm_access": {"roles": ["auditor", "offline_access"]},
        "resource_access": {
            "grant-ledger": {"roles": ["viewer"]},
            "other": {"roles": ["approver"]},
        },
    }
    assert roles_of(claims, "grant-ledger") == {"officer", "auditor", "viewer"}
    assert roles_of({"roles": "officer"}, "grant-ledger") == set()  # a string is not a list
    assert roles_of({"realm_access": ["officer"]}, "grant-ledger") == set()


def test_a_cached_token_still_expires() -> None:
    verifier = TokenVerifier(KEYS)
    token = mint_token(KEYS, "alice", ["officer"], dt.timedelta(seconds=1))
    assert verifier.verify(token).subject == "alice"
    assert token in verifier._verified
    assert verifier.verify(token).roles == {"officer"}  # from the cache
    time.sleep(1.2)  # exp has passed (leeway 0 here)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)


def test_a_subject_that_cannot_be_recorded_is_refused() -> None:
    token = mint_token(KEYS, "has space", ["officer"], dt.timedelta(minutes=5))
    with pytest.raises(Unauthenticated, match="subject"):
        TokenVerifier(KEYS).verify(token)


def test_an_oversized_token_is_refused_before_parsing() -> None:
    with pytest.raises(Unauthenticated, match="too long"):
        TokenVerifier(KEYS).verify("a" * 20_000)


@pytest.mark.parametrize("subject", ["system-expiry", "System-Expiry", "system", "system-x"])
def test_system_subjects_are_reserved(subject: str) -> None:
    token = mint_token(KEYS, subject, ["officer"], dt.timedelta(minutes=5))
    with pytest.raises(Unauthenticated, match="reserved"):
        TokenVerifier(KEYS).verify(token)
    assert TokenVerifier(KEYS).verify(mint_token(KEYS, "systems-team", ["officer"],
                                                 dt.timedelta(minutes=5))).subject  # fmt: skip


def test_a_token_may_not_outlive_the_maximum_lifetime() -> None:
    forever = jwt.encode(
        {"sub": "alice", "roles": ["officer"], "iss": "grant-ledger", "aud": "grant-ledger",
         "iat": int(time.time()), "exp": 10**12},
        KEYS.secret, algorithm="HS256",
    )  # fmt: skip
    with pytest.raises(Unauthenticated, match="lifetime"):
        TokenVerifier(KEYS).verify(forever)
    capped = KeyMaterial(**{**KEYS.__dict__, "max_lifetime_seconds": 3600})
    with pytest.raises(Unauthenticated, match="lifetime"):
        TokenVerifier(capped).verify(mint_token(capped, "alice", ["officer"],
                                                dt.timedelta(hours=2)))  # fmt: skip
    assert (
        TokenVerifier(capped)
        .verify(mint_token(capped, "alice", ["officer"], dt.timedelta(hours=1)))
        .subject
        == "alice"
    )
