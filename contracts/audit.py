"""API models of the audit endpoints: digest and verification."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import View
from contracts.events.envelope import EventRecord


class AuditDigest(View):
    algorithm: str = Field(description="Chain algorithm; sha256-chain-v1.")
    position: int = Field(description="Newest chained log position (0: empty log).")
    hash: str = Field(description="Chain value at that position, hex SHA-256.")
    events: int = Field(description="How many events the chain covers.")


class VerifyRequest(BaseModel):
    """An earlier digest, exactly as ``GET /v1/audit/digest`` returned it."""

    model_config = ConfigDict(extra="forbid")
    algorithm: Literal["sha256-chain-v1"] = Field(
        default="sha256-chain-v1", description="Chain algorithm of the digest."
    )
    position: int = Field(ge=0, le=10**15, description="Position from an earlier digest.")
    hash: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="Hash from that digest (64 hex digits)."
    )
    events: int | None = Field(
        default=None,
        ge=0,
        le=10**15,
        description="Event count from that digest; checked against the recomputed chain.",
    )


class Difference(View):
    position: int = Field(description="First position where history differs.")
    detail: str = Field(description="Changed, deleted or inserted, in words.")


class VerifyReport(View):
    ok: bool = Field(description="True when history is intact (and matches the digest, if given).")
    algorithm: str = Field(description="Chain algorithm.")
    events_checked: int = Field(description="Stored events recomputed.")
    checked_through: int = Field(description="Last position recomputed.")
    head_position: int = Field(description="Position of the recomputed head.")
    head_hash: str = Field(description="Recomputed chain value at head_position.")
    digest_matches: bool | None = Field(description="Against the given digest; null if none.")
    first_difference: Difference | None = Field(description="Where history first differs.")
    notes: list[str] = Field(description="Further findings, in words.")


class HistoryPage(View):
    kind: str = Field(description="grant, school, donor, programme or entry.")
    ref: str = Field(description="The id or code whose history this is.")
    events: list[EventRecord] = Field(
        description="Every event that touched it, oldest first, with actor and key."
    )
    next_after: int | None = Field(description="Pass as ?after= for more; null at the end.")
