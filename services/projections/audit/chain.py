"""The hash chain over the stored events.

Each link covers the event's stored bytes and its header (position, stream, version,
topic), and the previous link: changing, removing, inserting or reordering any stored
event changes every later value. Pure functions: the chainer and the verifier share them.
"""

from __future__ import annotations

import hashlib
from typing import Protocol
from uuid import UUID

ALGORITHM = "sha256-chain-v1"
GENESIS = bytes(32)


class StoredRecord(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def originator_id(self) -> UUID | str: ...
    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...


def canonical_bytes(record: StoredRecord) -> bytes:
    # Length-prefixed header fields, then the state exactly as stored: no field can
    # bleed into its neighbour, and the bytes do not depend on how we would decode them.
    header = [
        str(record.id),
        str(record.originator_id),
        str(record.originator_version),
        record.topic,
    ]
    out = bytearray(b"ledger-event-v1\n")
    for part in header:
        encoded = part.encode()
        out += len(encoded).to_bytes(4, "big") + encoded
    out += len(record.state).to_bytes(8, "big") + bytes(record.state)
    return bytes(out)


def link(previous: bytes, record: StoredRecord) -> bytes:
    return hashlib.sha256(previous + hashlib.sha256(canonical_bytes(record)).digest()).digest()
