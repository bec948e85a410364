"""Public event contracts: committed schemas match the code; every stored type is mapped;
old stored versions are upcast on read."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import pkgutil
from pathlib import Path
from typing import Any
from uuid import UUID

import jsonschema
import pytest
from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

import ledger.domain
from contracts.events import CATALOGUE, schema_documents
from contracts.events.payloads import render
from contracts.events.stored import STORED_TYPES
from ledger.application.unit_of_work import Context
from ledger.domain.donor import Donor
from ledger.domain.registry import registry_id
from projections.audit.public import CURRENT, TOPIC_TYPES, public_form
from projections.facts import ENTRY_FIELDS, IGNORED, REGISTRY_ROWS, entry_facts
from server.demo import load_demo

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "contracts" / "schemas" / "events"


def test_committed_schemas_equal_the_code() -> None:
    """Fails when a public model changes without `python -m contracts.events` (and review)."""
    documents = schema_documents()
    committed = {p.name for p in SCHEMA_DIR.glob("*.json")}
    assert committed == set(documents), "run `python -m contracts.events` and commit the files"
    for name, doc in documents.items():
        assert (SCHEMA_DIR / name).read_text(encoding="utf-8") == render(doc), name


def test_committed_schemas_are_valid_json_schema() -> None:
    for path in SCHEMA_DIR.glob("*.json"):
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))


def stored_event_classes() -> dict[str, type[DomainEvent]]:
    """Every event class the domain can store, by stored topic."""
    found: dict[str, type[DomainEvent]] = {}
    for info in pkgutil.iter_modules(ledger.domain.__path__):
        module = importlib.import_module(f"ledger.domain.{info.name}")
        for aggregate in vars(module).values():
            if not (inspect.isclass(aggregate) and issubclass(aggregate, Aggregate)):
                continue
            for attr in vars(aggregate).values():
                ours = inspect.isclass(attr) and attr.__module__.startswith("ledger.domain")
                if ours and issubclass(attr, DomainEvent):
                    if not attr.__annotations__ or attr.__qualname__.endswith(".Created"):
                        continue  # abstract bases the library derives
                    found[f"{attr.__module__}:{attr.__qualname__}"] = attr
    return found


def test_every_stored_event_type_has_a_public_contract_of_its_version() -> None:
    classes = stored_event_classes()
    assert set(classes) <= set(TOPIC_TYPES), set(classes) - set(TOPIC_TYPES)
    for topic, cls in classes.items():
        public = CURRENT[TOPIC_TYPES[topic]]
        assert public.version == getattr(cls, "class_version", 1), topic
        fields = set(cls.__annotations__) - {"actor", "idempotency_key", "legs"}
        assert fields == set(public.model.model_fields), topic
    versions = {(t.name, t.version) for t in CATALOGUE}
    for name, version in versions:  # every older version stays published beside the new
        assert all((name, v) in versions for v in range(1, version + 1))


def test_every_demo_event_validates_against_its_committed_schema(memory_app: Any) -> None:
    load_demo(memory_app)
    validators = {
        p.name: jsonschema.Draft202012Validator(json.loads(p.read_text()))
        for p in SCHEMA_DIR.glob("*.json")
    }
    seen: set[str] = set()
    for note in memory_app.recorder.select_notifications(start=1, limit=100_000):
        form = public_form(note.topic, memory_app.mapper.to_domain_event(note))
        validators[form.type.schema_file].validate(form.payload)
        assert sum(leg["amount"] for leg in form.legs) == 0
        seen.add(form.type.name)
    assert len(seen) >= 14


def test_a_donor_stored_under_v1_reads_as_v2_unspecified(app: Any) -> None:
    """Upcasting: an event written before donors had a kind (no class_version, no kind)."""
    donor_id = registry_id("donor", "legacy-donor")
    state = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2023-01-05T09:00:00+00:00"},
        "originator_topic": "ledger.domain.donor:Donor",
        "code": "legacy-donor",
        "name": "Donor recorded by release 1",
        "actor": "finance-1",
        "idempotency_key": "legacy-key-0001",
    }
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=donor_id,
                originator_version=1,
                topic="ledger.domain.donor:Donor.Registered",
                state=json.dumps(state).encode(),
            )
        ]
    )
    donor = app.get_donor("legacy-donor")
    assert (donor.code, donor.kind, donor.version) == ("legacy-donor", "unspecified", 1)
    # The aggregate still works: it records under v2 from here on.
    ctx = Context(actor="finance-2", idempotency_key="legacy-key-0002")
    app.cover_operating_cost(
        ctx, donor="legacy-donor", amount=100, currency="KZT", category="audit-fees",
        programme=None, value_date=dt.date(2024, 1, 1), reference="R-1", description="audit",
    )  # fmt: skip
    (note,) = [
        n for n in app.recorder.select_notifications(start=1, limit=100)
        if n.originator_id == donor_id and n.originator_version == 1
    ]  # fmt: skip
    form = public_form(note.topic, app.mapper.to_domain_event(note))
    assert (form.type.name, form.type.version) == ("donor.registered", 2)
    assert form.payload == {
        "code": "legacy-donor",
        "name": "Donor recorded by release 1",
        "kind": "unspecified",
    }
    assert form.actor == "finance-1"


def test_a_snapshot_taken_before_kinds_reads_as_unspecified() -> None:
    state: dict[str, Any] = {"code": "x", "name": "y"}
    Donor.upcast_v1_v2(state)
    assert state["kind"] == "unspecified"


@pytest.mark.parametrize("kind", ["fund", "holding", "network", "government", "other"])
def test_donor_kinds_are_recorded(memory_app: Any, kind: str) -> None:
    ctx = Context(actor="alice", idempotency_key=f"donor-kind-{kind}")
    memory_app.register_donor(ctx, code=f"d-{kind}", name="D", kind=kind)
    assert memory_app.get_donor(f"d-{kind}").kind == kind


def test_the_catalogue_of_stored_types_names_every_stored_event_class_once() -> None:
    """One home for event types: the facts mapper, the audit feed and the contracts read it."""
    topics = [t.topic for t in STORED_TYPES]
    assert len(topics) == len(set(topics))
    assert set(stored_event_classes()) <= set(topics)
    for topic in topics:  # and nothing catalogued that the domain cannot store
        cls = resolve_topic(topic)
        assert issubclass(cls, DomainEvent) and cls.__qualname__ == topic.partition(":")[2]
    assert {t.public for t in STORED_TYPES} == {t.name for t in CATALOGUE}
    assert {t.topic: t.public for t in STORED_TYPES} == TOPIC_TYPES


def test_the_read_side_reads_every_catalogued_type_it_is_told_to() -> None:
    """Each type the catalogue says records an entry or a registry row has a reader."""
    for t in STORED_TYPES:
        assert (t.name in IGNORED) == (t.entry is None and t.registry is None and t.pending is None)
        if t.entry is not None:
            assert t.public in ENTRY_FIELDS, t.topic
        if t.registry is not None:
            assert t.registry in REGISTRY_ROWS, t.topic
    assert set(ENTRY_FIELDS) == {t.public for t in STORED_TYPES if t.entry is not None}


def test_spending_stored_under_v1_reads_as_v2_naming_no_source(app: Any) -> None:
    """An expenditure written before entries could name their source reads as naming
    none: the public form is v2 with nulls, and the school's figures still count it."""
    n = iter(range(100))

    def ctx() -> Context:
        return Context(actor="finance-1", idempotency_key=f"v1-spend-{next(n):04d}")

    app.register_donor(ctx(), code="qh", name="QH")
    app.register_school(
        ctx(), code="khromtau", name="Khromtau", school_type="hub", region="aktobe",
        district="Khromtau",
    )  # fmt: skip
    grant = app.commit_grant(
        ctx(), donor="qh", school="khromtau", programme=None, amount=1_000, currency="KZT",
        value_date=dt.date(2024, 1, 1), reference="AGR-1",
    ).response["grant_id"]  # fmt: skip
    app.disburse(
        ctx(), grant_id=UUID(grant), amount=1_000, currency="KZT",
        value_date=dt.date(2024, 1, 2), payment_reference="PP-1",
    )  # fmt: skip
    app.record_expenditure(
        ctx(), school="khromtau", amount=300, currency="KZT", category="books",
        value_date=dt.date(2024, 1, 3), reference="INV-1",
    )  # fmt: skip
    account = app.get_school_account("khromtau")
    (stored,) = [
        n for n in app.recorder.select_notifications(start=1, limit=100)
        if n.originator_id == account.id and n.topic.endswith(".ExpenditureRecorded")
    ]  # fmt: skip
    # The same fact as release 1 wrote it: no class_version, no source fields, a new entry.
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2
    assert (state.pop("from_grant"), state.pop("from_programme")) == (None, None)
    state["entry_id"] = "00000000-0000-4000-8000-0000000000aa"
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=account.id,
                originator_version=account.version + 1,
                topic=stored.topic,
                state=json.dumps(state).encode(),
            )
        ]
    )
    assert app.get_school_account("khromtau").cash == {"KZT": 400}
    (old,) = [
        n for n in app.recorder.select_notifications(start=1, limit=100)
        if n.originator_id == account.id and n.originator_version == account.version + 1
    ]  # fmt: skip
    event = app.mapper.to_domain_event(old)
    assert (event.from_grant, event.from_programme) == (None, None)
    form = public_form(old.topic, event)
    assert (form.type.name, form.type.version) == ("expenditure.recorded", 2)
    assert form.payload["from_grant"] is None and form.payload["amount"] == 300
    # The read side's fact is an unnamed expenditure, attributed by the rule.
    facts = entry_facts(event)
    assert facts is not None and (facts.kind, facts.programme) == ("expenditure", None)


def test_in_kind_stored_under_v1_reads_as_naming_no_source() -> None:
    state: dict[str, Any] = {"kind": "laptops", "school": "khromtau", "programme": None}
    Donor.InKindContributed.upcast_v1_v2(state)
    assert (state["from_grant"], state["from_programme"]) == (None, None)
