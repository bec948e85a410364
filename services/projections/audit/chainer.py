"""Extends the audit read model: public form, refs and the next hash link per event.

Runs beside the projection runner (same leader). Each batch of rows, their refs and
the streams learnt commit in one transaction; the newest row is the tracking position.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import Notification
from sqlalchemy import Connection, select

from projections.allocation import fewer_collections
from projections.audit import tables as at
from projections.audit.chain import GENESIS, link
from projections.audit.public import public_form
from projections.audit.refs import Ref, event_refs, stream_refs
from projections.bulk import bulk_insert
from projections.log import EventLog
from projections.moments import db_moment
from projections.readahead import ReadAhead
from projections.store import ReadStore, transaction

# Events per transaction when catching up (a start, a backlog): the head look-up and
# the commit are paid per batch; a few MB of rows in memory.
CATCH_UP_BATCH_SIZE = 5000

# Built once: json.dumps with options builds an encoder per call. Same output as before.
_PAYLOAD = json.JSONEncoder(sort_keys=True, ensure_ascii=False)
_LEGS = json.JSONEncoder()


@dataclass
class Batch:
    """Notifications the projection runner just applied, and the events it decoded."""

    notes: list[Notification]
    decoded: dict[int, Any] = field(default_factory=dict)


def head(conn: Connection) -> tuple[int, bytes]:
    row = conn.execute(
        select(at.events.c.position, at.events.c.hash)
        .order_by(at.events.c.position.desc())
        .limit(1)
    ).first()
    if row is None:
        return 0, GENESIS
    return int(row[0]), bytes.fromhex(row[1])


class AuditChainer:
    def __init__(
        self,
        log: EventLog,
        store: ReadStore,
        batch_size: int = 500,
        catch_up_batch_size: int = CATCH_UP_BATCH_SIZE,
    ) -> None:
        self.log = log
        self.store = store
        self.batch_size = batch_size
        self.catch_up_batch_size = catch_up_batch_size
        self._streams: dict[str, list[Ref]] = {}
        # The chain's head after this chainer's last commit: the live loop skips the
        # look-up. Forgotten on any failure; a row chained meanwhile by another process
        # makes the insert fail on its position (the primary key), so a stale head can
        # never link a wrong chain.
        self._head: tuple[int, bytes] | None = None

    def _stream(self, conn: Connection, stream_id: str) -> list[Ref]:
        if stream_id not in self._streams:
            row = conn.execute(
                select(at.streams.c.refs).where(at.streams.c.stream_id == stream_id)
            ).first()
            self._streams[stream_id] = (
                [(k, v) for k, v in json.loads(row[0])] if row is not None else []
            )
        return self._streams[stream_id]

    def run_once(
        self,
        read: ReadAhead | None = None,
        *,
        connection: Connection | None = None,
        batch: Batch | None = None,
    ) -> int:
        """Chain the next batch; returns how many events were added.

        ``batch``: what the projection runner just applied, used when it starts right
        after the chain's head (else the log is read as usual).
        """
        try:
            return self._run_once(read, connection, batch)
        except BaseException:
            self._head = None
            raise

    def _notes(
        self, position: int, read: ReadAhead | None, batch: Batch | None
    ) -> tuple[list[Notification], dict[int, Any]]:
        if batch is not None and batch.notes and batch.notes[0].id == position + 1:
            return batch.notes, batch.decoded
        if read is not None:
            return read.select(position + 1), {}
        return list(self.log.select(position + 1, self.batch_size)), {}

    def _run_once(
        self, read: ReadAhead | None, connection: Connection | None, batch: Batch | None
    ) -> int:
        with transaction(self.store.engine, connection) as conn:
            position, previous = self._head if self._head is not None else head(conn)
            notes, decoded = self._notes(position, read, batch)
            if not notes:
                self._head = (position, previous)
                return 0
            built = self._build(conn, notes, decoded, previous)
            _write(conn, built)
        self._head = (notes[-1].id, built.previous)
        return len(notes)

    def _build(
        self, conn: Connection, notes: list[Notification], decoded: dict[int, Any], previous: bytes
    ) -> Built:
        """The rows chaining ``notes`` after the link ``previous`` (nothing written yet)."""
        built = Built(previous)
        dialect = conn.dialect.name
        for note in notes:
            event = decoded[note.id] if note.id in decoded else self.log.decode(note)
            form = public_form(note.topic, event)
            stream_id = str(note.originator_id)
            if note.originator_version == 1:
                learnt = stream_refs(form.type.name, stream_id, form.payload)
                self._streams[stream_id] = learnt
                built.streams.append({"stream_id": stream_id, "refs": json.dumps(learnt)})
            refs = event_refs(form.payload, self._stream(conn, stream_id))
            payload = form.payload
            if payload.get("owner_type") == "Grant":  # an entry locator: the grant too
                refs.add(("grant", payload["owner_id"]))
            built.previous = link(built.previous, note)
            built.events.append(
                {
                    "position": note.id,
                    "stream_id": stream_id,
                    "stream_version": note.originator_version,
                    "topic": note.topic,
                    "type": form.type.name,
                    "schema_version": form.type.version,
                    "recorded_at": db_moment(event.timestamp, dialect),
                    "actor": form.actor,
                    "idempotency_key": form.idempotency_key,
                    "payload": _PAYLOAD.encode(form.payload),
                    "legs": _LEGS.encode(form.legs) if form.legs else "[]",
                    "hash": built.previous.hex(),
                }
            )
            built.refs += [{"kind": k, "ref": v, "position": note.id} for k, v in sorted(refs)]
        return built

    def catch_up(self) -> int:
        """Chain everything not chained yet, in big batches, reading each next one ahead
        and (PostgreSQL) writing each batch while building the next."""
        with ReadAhead(self.log, self.catch_up_batch_size) as read, fewer_collections():
            if self.store.engine.dialect.name == "postgresql":
                return self._catch_up_pipelined(read)
            total = 0
            while n := self.run_once(read):
                total += n
            return total

    def _catch_up_pipelined(self, read: ReadAhead) -> int:
        """One batch in flight: each still one transaction, committed in order. A stream
        looked up in the table was learnt before this catch-up (one learnt since is in
        memory), so building never needs to wait for the batch being written."""
        self._head = None  # the catch-up reads the committed head; the live loop, after it
        total = 0
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-writer")
        in_flight: Future[None] | None = None
        try:
            with self.store.engine.connect() as lookups:
                position, previous = head(lookups)
                while notes := read.select(position + 1):
                    built = self._build(lookups, notes, {}, previous)
                    lookups.rollback()
                    if in_flight is not None:
                        in_flight.result()
                    in_flight = writer.submit(self._commit, built)
                    position, previous = notes[-1].id, built.previous
                    total += len(notes)
                if in_flight is not None:
                    in_flight.result()
        finally:
            writer.shutdown(wait=True)
        return total

    def _commit(self, built: Built) -> None:
        with self.store.engine.begin() as conn:
            _write(conn, built)


@dataclass
class Built:
    """A batch's rows, and the chain's link after its last event."""

    previous: bytes
    events: list[dict[str, Any]] = field(default_factory=list)
    refs: list[dict[str, Any]] = field(default_factory=list)
    streams: list[dict[str, Any]] = field(default_factory=list)


def _write(conn: Connection, built: Built) -> None:
    bulk_insert(conn, at.events, built.events)
    bulk_insert(conn, at.refs, built.refs)
    bulk_insert(conn, at.streams, built.streams)
