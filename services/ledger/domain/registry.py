"""Who takes part: donors, schools and programmes, identified by stable codes.

A registry aggregate's id is derived from its code (uuid5), so registering the same
code twice collides on version 1 in the event store: uniqueness without a lookup table.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import InvalidValue

LEDGER_NAMESPACE = uuid5(NAMESPACE_URL, "urn:grant-ledger")

CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,63}$"
_CODE = re.compile(CODE_PATTERN)

# Kazakhstan's regions and cities of republican significance, as account-safe slugs.
# A bounded set on purpose: regions become metric labels and report groupings. The API
# contracts publish the same list (a test keeps the two equal).
REGION_SLUGS: tuple[str, ...] = (
    "abai", "akmola", "aktobe", "almaty", "almaty-city", "astana", "atyrau",
    "east-kazakhstan", "jambyl", "jetisu", "karaganda", "kostanay", "kyzylorda",
    "mangystau", "north-kazakhstan", "pavlodar", "shymkent", "turkistan", "ulytau",
    "west-kazakhstan",
)  # fmt: skip
REGIONS: frozenset[str] = frozenset(REGION_SLUGS)
SCHOOL_TYPES: frozenset[str] = frozenset({"hub", "small"})
# Programme figures group entries attributed to no programme under this key: no
# programme may take the name.
UNATTRIBUTED = "unattributed"
RESERVED_PROGRAMME_CODES: frozenset[str] = frozenset({UNATTRIBUTED})


def check_code(code: str, what: str = "code") -> str:
    if not isinstance(code, str) or not _CODE.match(code):
        raise InvalidValue(f"{what} must match {CODE_PATTERN}, got {code!r}")
    return code


def check_text(text: str, what: str, max_length: int = 200) -> str:
    if not isinstance(text, str) or not text.strip() or len(text) > max_length:
        raise InvalidValue(f"{what} must be 1..{max_length} characters")
    return text


def registry_id(kind: str, code: str) -> UUID:
    return uuid5(LEDGER_NAMESPACE, f"{kind}:{code}")


class Programme(Aggregate):
    """A funding programme (e.g. the hub-school network programme)."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return registry_id("programme", code)

    @classmethod
    def register(cls, *, code: str, name: str, actor: str, idempotency_key: str) -> Programme:
        if code in RESERVED_PROGRAMME_CODES:
            raise InvalidValue(
                f"programme code {code!r} is reserved: programme figures use it for entries "
                "attributed to no programme"
            )
        return cls(
            code=check_code(code),
            name=check_text(name, "name"),
            actor=actor,
            idempotency_key=idempotency_key,
        )

    @event("Registered")
    def __init__(self, code: str, name: str, actor: str, idempotency_key: str) -> None:
        self.code = code
        self.name = name


class School(Aggregate):
    """A hub school or a small rural school; a small school may name its hub."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return registry_id("school", code)

    @classmethod
    def register(
        cls,
        *,
        code: str,
        name: str,
        school_type: str,
        region: str,
        district: str,
        hub: School | None,
        actor: str,
        idempotency_key: str,
    ) -> School:
        if school_type not in SCHOOL_TYPES:
            raise InvalidValue(f"school_type must be one of {sorted(SCHOOL_TYPES)}")
        if region not in REGIONS:
            raise InvalidValue(
                f"region {region!r} is not a region of Kazakhstan; known: "
                + ", ".join(REGION_SLUGS)
            )
        if hub is not None:
            if school_type != "small":
                raise InvalidValue("only a small school names a hub school")
            if hub.school_type != "hub":
                raise InvalidValue(f"school {hub.code!r} is not a hub school")
        return cls(
            code=check_code(code),
            name=check_text(name, "name"),
            school_type=school_type,
            region=region,
            district=check_text(district, "district", 100),
            hub_code=hub.code if hub is not None else None,
            actor=actor,
            idempotency_key=idempotency_key,
        )

    @event("Registered")
    def __init__(
        self,
        code: str,
        name: str,
        school_type: str,
        region: str,
        district: str,
        hub_code: str | None,
        actor: str,
        idempotency_key: str,
    ) -> None:
        self.code = code
        self.name = name
        self.school_type = school_type
        self.region = region
        self.district = district
        self.hub_code = hub_code
