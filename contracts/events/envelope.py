"""The envelope every event travels in through the feed, history and SSE tail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class PublicLeg(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str = Field(description="Colon-separated account path.")
    amount: StrictInt = Field(description="Signed minor units: debit positive, credit negative.")
    currency: str = Field(description="ISO 4217 code.")


class EventRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    position: int = Field(description="Position in the global log (gaps are possible).")
    stream_id: str = Field(description="Id (UUID) of the aggregate the event belongs to.")
    stream_version: int = Field(description="Version of that aggregate after this event.")
    type: str = Field(description="Public event type, e.g. grant.disbursed.")
    schema_version: int = Field(
        description="Version of the payload schema served (contracts/schemas/events/"
        "<type>.v<N>.json); older stored events are upcast to it."
    )
    recorded_at: dt.datetime = Field(description="When the ledger recorded the event (UTC).")
    actor: str | None = Field(description="Authenticated subject who caused the event.")
    idempotency_key: str | None = Field(description="Idempotency-Key of the causing request.")
    payload: dict[str, Any] = Field(description="The facts, per the type's public schema.")
    legs: list[PublicLeg] = Field(description="Double-entry legs posted; empty if none.")
    hash: str = Field(
        description="Hash-chain value after this event (hex SHA-256); see /v1/audit/digest."
    )


class EventPage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[EventRecord] = Field(description="Events in log order.")
    next_after: int | None = Field(
        description="Pass as ?after= for the next page; null when this page is the end."
    )
    head: int = Field(description="Newest position in the audit read model when answered.")
