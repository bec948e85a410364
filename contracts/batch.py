"""API models for batch recording: many recording requests in one HTTP call.

Each item is exactly what one recording route takes (its path, its Idempotency-Key and
its JSON body), and each answer is exactly what that route would have answered: the
status and the body (the recorded entry and its log position, or the problem).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from contracts.common import Command, View

# A batch is decided and committed together; past this size a caller splits it.
MAX_BATCH_ITEMS = 1000


class BatchItem(Command):
    path: str = Field(
        max_length=256,
        pattern=r"^/v1/[A-Za-z0-9/_.-]+$",
        description="The recording route this item is sent to, e.g. "
        "`/v1/grants/<grant id>/disbursements`.",
        examples=["/v1/grants/0b0c6b7e-38f5-4a55-a4c4-1a2b3c4d5e6f/disbursements"],
    )
    idempotency_key: str = Field(
        description="The item's Idempotency-Key: the same namespace as single requests, so a "
        "retried batch (or a single request under the same key) replays the item's answer.",
    )
    if_match: str | None = Field(
        default=None, description="The If-Match the single route would take, e.g. '\"5\"'."
    )
    body: dict[str, Any] = Field(description="The JSON body the single route takes.")


class BatchRequest(Command):
    atomic: bool = Field(
        default=False,
        description="true: every item is recorded or none is (the answer names the refused item); "
        "false: each item succeeds or fails on its own.",
    )
    items: list[BatchItem] = Field(
        min_length=1,
        max_length=MAX_BATCH_ITEMS,
        description=f"The requests, at most {MAX_BATCH_ITEMS}; answered in the same order.",
    )


class BatchItemResult(View):
    status: int = Field(description="The HTTP status the single route would have answered.")
    body: dict[str, Any] = Field(
        description="The body the single route would have answered: the recorded result with its "
        "log position, or an RFC 9457 problem."
    )
    replayed: bool = Field(
        default=False, description="True when the answer is replayed from an earlier recording."
    )


class BatchResult(View):
    atomic: bool = Field(description="Whether the batch was all-or-nothing.")
    recorded: int = Field(description="Items recorded by this request (replays not counted).")
    replayed: int = Field(description="Items answered from an earlier recording under their key.")
    refused: int = Field(description="Items refused (their body is a problem).")
    refused_item: int | None = Field(
        default=None,
        description="Atomic batches: the index of the first item that refused, for which nothing "
        "was recorded.",
    )
    items: list[BatchItemResult] = Field(description="One answer per item, in request order.")
