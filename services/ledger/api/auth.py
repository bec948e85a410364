"""Bearer-token verification: who is calling, and with which roles.

HS256 tokens are checked with the shared secret; RS256/ES256 tokens with the key their
``kid`` names in the provider's JWKS document. The algorithm a token claims only selects
among those configured, so an attacker cannot pick ``none`` or sign HS256 with a public key.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from ledger.domain.idempotency import is_system_actor
from ledger.infrastructure.keys import KeyMaterial

ROLES = ("officer", "approver", "auditor", "viewer", "metrics")
ASYMMETRIC = ("RS256", "ES256")
# The subject is recorded on every event and in logs: keep it short and printable.
SUBJECT = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
# Verified tokens kept (by their exact text) until they expire: a client reuses its token
# for many requests, and a signature check costs ~0.4 ms of the event loop's time.
CACHE_SIZE = 4096
# Keycloak tokens with many roles run to a few KiB; anything far larger is not a token.
MAX_TOKEN_CHARS = 16 * 1024


# Unix time in seconds (a token's exp): when a cached verification stops counting.
EpochSeconds = float


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: the token's ``sub`` and the ledger roles it holds."""

    subject: str
    roles: frozenset[str]


class Unauthenticated(Exception):
    """No usable token: 401 with ``WWW-Authenticate: Bearer``."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class KeysUnavailable(Exception):
    """The identity provider's JWKS could not be fetched: 503, the caller may retry."""


class TokenVerifier:
    def __init__(self, keys: KeyMaterial) -> None:
        self.keys = keys
        self._jwks = (
            jwt.PyJWKClient(keys.jwks_url, cache_keys=True, lifespan=300, timeout=5)
            if keys.jwks_url
            else None
        )
        self._verified: dict[str, tuple[Principal, EpochSeconds]] = {}

    @property
    def may_block(self) -> bool:
        """True when verifying can fetch the JWKS over the network (run it off the loop)."""
        return self._jwks is not None

    def cached(self, token: str) -> Principal | None:
        """The caller of a token verified before and not yet expired; never blocks."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        return None

    def verify(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthenticated("the bearer token is too long")
        known = self.cached(token)
        if known is not None:
            return known
        principal, expires = self._verify(token)
        if len(self._verified) >= CACHE_SIZE:
            self._verified.clear()  # crude but bounded; it refills from live traffic
        self._verified[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, EpochSeconds]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthenticated("the bearer token is not a well-formed JWT") from None
        alg = header.get("alg")
        key = self._key_for(token, alg)
        try:
            claims = self._decode_rotating(token, key, str(alg))
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("the token's issuer is not accepted") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("the token is not meant for this service (aud)") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as e:
            raise Unauthenticated(f"the token lacks the {e.claim!r} claim") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("the token is invalid") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not SUBJECT.match(subject):
            raise Unauthenticated("the token's subject must be 1..64 of [A-Za-z0-9._@-]")
        if is_system_actor(subject):
            raise Unauthenticated("the token's subject is reserved for the ledger itself")
        if float(claims["exp"]) - time.time() > self.keys.max_lifetime_seconds:
            raise Unauthenticated(
                f"the token's lifetime exceeds {self.keys.max_lifetime_seconds} seconds"
            )
        principal = Principal(subject=subject, roles=roles_of(claims, self.keys.audience))
        # Same rule as PyJWT's exp check: still good until exp + leeway.
        return principal, float(claims["exp"]) + self.keys.leeway_seconds

    def _key_for(self, token: str, alg: object) -> Any:
        if alg == "HS256" and self.keys.secret is not None:
            return self.keys.secret
        if alg in ASYMMETRIC and self._jwks is not None:
            return self._signing_key(token)
        raise Unauthenticated(f"tokens signed with {str(alg)[:16]!r} are not accepted")

    def _decode_rotating(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        try:
            return self._decode(token, key, alg)
        except jwt.InvalidSignatureError:
            # Mid-rotation, a token signed with the outgoing secret still counts.
            if alg != "HS256" or self.keys.previous_secret is None:
                raise
            return self._decode(token, self.keys.previous_secret, alg)

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            issuer=self.keys.issuer,
            audience=self.keys.audience,
            leeway=self.keys.leeway_seconds,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
        return claims

    def _signing_key(self, token: str) -> Any:
        assert self._jwks is not None
        try:
            return self._jwks.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as e:
            raise KeysUnavailable(str(e)) from None
        except (jwt.PyJWKClientError, jwt.InvalidTokenError):
            raise Unauthenticated("no key in the provider's JWKS matches the token") from None


def roles_of(claims: Mapping[str, Any], audience: str) -> frozenset[str]:
    """Ledger roles from ``roles``, Keycloak's ``realm_access.roles`` and its client roles.

    Anything else a provider puts in these lists is ignored, not an error: one identity
    provider serves many applications.
    """
    found: list[Any] = []
    for source in (
        claims,
        claims.get("realm_access"),
        (claims.get("resource_access") or {}).get(audience)
        if isinstance(claims.get("resource_access"), Mapping)
        else None,
    ):
        if isinstance(source, Mapping) and isinstance(source.get("roles"), list):
            found.extend(source["roles"])
    return frozenset(r for r in found if isinstance(r, str) and r in ROLES)
