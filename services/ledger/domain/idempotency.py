"""Idempotency keys, kept in the event store itself.

A claim's id is derived from (actor, key), and the claim is saved in the same
transaction as the command's events. A concurrent duplicate therefore collides on
version 1 and can never record twice, across restarts and across API processes.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import DomainError, InvalidValue
from ledger.domain.registry import LEDGER_NAMESPACE

KEY_PATTERN = r"^[\x21-\x7e]{8,128}$"
_KEY = re.compile(KEY_PATTERN)

# Subjects the ledger itself records as (the expiry sweeper). No token may carry one, so
# the claims of system commands, keyed by (actor, key), are out of every caller's reach.
SYSTEM_ACTOR_PREFIX = "system-"


def is_system_actor(subject: str) -> bool:
    """True for ``system`` and ``system-...`` in any case: reserved for the ledger."""
    lowered = subject.lower()
    return lowered == "system" or lowered.startswith(SYSTEM_ACTOR_PREFIX)


class IdempotencyKeyReused(DomainError):
    code = "idempotency-key-reused"
    title = "Idempotency key reused with a different request"


def check_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidValue(
            "Idempotency-Key must be 8..128 printable ASCII characters without spaces"
        )
    return key


def claim_id(actor: str, key: str) -> UUID:
    return uuid5(LEDGER_NAMESPACE, f"idempotency:{actor}\n{key}")


class IdempotencyClaim(Aggregate):
    """The first use of an idempotency key, with the answer given to it."""

    @classmethod
    def claim(
        cls, *, actor: str, key: str, command: str, fingerprint: str, response: dict[str, Any]
    ) -> IdempotencyClaim:
        return cls(
            actor=actor,
            key=check_key(key),
            command=command,
            fingerprint=fingerprint,
            response=response,
        )

    @staticmethod
    def create_id(actor: str, key: str, **_: Any) -> UUID:
        return claim_id(actor, key)

    @event("Claimed")
    def __init__(
        self, actor: str, key: str, command: str, fingerprint: str, response: dict[str, Any]
    ) -> None:
        self.actor = actor
        self.key = key
        self.command = command
        self.fingerprint = fingerprint
        self.response = response

    def replay(self, command: str, fingerprint: str) -> dict[str, Any]:
        if command != self.command or fingerprint != self.fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {self.key!r} was already used for a different "
                f"{self.command} request; use a new key for a new request"
            )
        return self.response
