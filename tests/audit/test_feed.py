"""The event feed, entity history, digest and verify through the real app."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.audit.scenario import record_scenario


@pytest.fixture
def recorded(client: TestClient, headers: Any) -> dict[str, Any]:
    return record_scenario(client, headers)


def all_events(client: TestClient, headers: Any, position: int, **params: Any) -> list[Any]:
    out: list[Any] = []
    after = 0
    while True:
        r = client.get(
            "/v1/events",
            params={"after": after, "limit": 7, "min_position": position, **params},
            headers=headers(),
        )
        assert r.status_code == 200, r.text
        page = r.json()
        out += page["events"]
        if page["next_after"] is None:
            return out
        after = page["next_after"]


def test_feed_is_the_whole_log_in_order_with_envelopes(
    client: TestClient, headers: Any, recorded: dict[str, Any], ledger: Any
) -> None:
    events = all_events(client, headers, recorded["position"])
    raw = ledger.recorder.select_notifications(start=1, limit=10_000)
    assert [e["position"] for e in events] == [n.id for n in raw]
    assert [e["stream_version"] for e in events] == [n.originator_version for n in raw]
    types = [e["type"] for e in events]
    for expected in (
        "donor.registered", "programme.registered", "school.registered", "school-account.opened",
        "grant.committed", "grant.disbursed", "school-account.funds-received", "entry.reversed",
        "school-account.funds-withdrawn", "expenditure.recorded", "entry-locator.registered",
        "idempotency-key.claimed", "disbursement.requested", "disbursement.approved",
    ):  # fmt: skip
        assert expected in types
    requested = next(e for e in events if e["type"] == "disbursement.requested")
    assert requested["actor"] == "alice"
    assert requested["legs"] == []  # a reservation posts nothing
    approved = next(e for e in events if e["type"] == "disbursement.approved")
    assert approved["actor"] == "bob"  # the authenticated subject, not the maker
    assert approved["idempotency_key"].startswith("test-key-")
    assert approved["schema_version"] == 1
    assert approved["payload"]["requested_by"] == "alice"
    assert approved["payload"]["amount"] == 10_000_000_000
    assert approved["payload"]["payment_reference"] == "PP-1"
    assert sum(leg["amount"] for leg in approved["legs"]) == 0
    assert {leg["account"] for leg in approved["legs"]} >= {"schools:khromtau:cash"}
    donor = next(e for e in events if e["type"] == "donor.registered")
    assert donor["schema_version"] == 2
    assert donor["payload"] == {"code": "qh", "name": "QH", "kind": "fund"}
    assert len({e["hash"] for e in events}) == len(events)


def test_feed_filters_by_type_stream_and_time(
    client: TestClient, headers: Any, recorded: dict[str, Any]
) -> None:
    position = recorded["position"]
    events = all_events(client, headers, position)
    paid = all_events(client, headers, position, type=["grant.disbursed", "disbursement.approved"])
    assert [e["payload"]["entry_id"] for e in paid] == [
        recorded["disbursement"],
        recorded["duplicate"],
    ]
    grant_stream = all_events(client, headers, position, stream=recorded["grant"])
    assert [e["stream_version"] for e in grant_stream] == [1, 2, 3, 4, 5]
    assert all(e["stream_id"] == recorded["grant"] for e in grant_stream)
    middle = events[len(events) // 2]["recorded_at"]
    later = all_events(client, headers, position, recorded_from=middle)
    earlier = all_events(client, headers, position, recorded_to=middle)
    assert len(later) + len(earlier) == len(events)
    assert all(e["recorded_at"] >= middle for e in later)
    r = client.get("/v1/events", params={"type": "grant.exploded"}, headers=headers())
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.get("/v1/events", params={"limit": 0}, headers=headers())
    assert r.status_code == 422


def test_history_of_a_grant_school_donor_and_entry(
    client: TestClient, headers: Any, recorded: dict[str, Any]
) -> None:
    def history(kind: str, ref: str) -> list[Any]:
        r = client.get(
            f"/v1/history/{kind}/{ref}",
            params={"min_position": recorded["position"]},
            headers=headers(),
        )
        assert r.status_code == 200, r.text
        events: list[Any] = r.json()["events"]
        return events

    grant = history("grants", recorded["grant"])
    assert [e["type"] for e in grant if e["stream_id"] == recorded["grant"]] == [
        "grant.committed", "disbursement.requested", "disbursement.approved", "grant.disbursed",
        "entry.reversed",
    ]  # fmt: skip
    reversal = next(e for e in grant if e["type"] == "entry.reversed")
    assert reversal["payload"]["reason"] == "entered twice"
    assert reversal["actor"] == "alice"
    school = {e["type"] for e in history("schools", "khromtau")}
    assert {"school.registered", "school-account.opened", "grant.committed",
            "school-account.funds-received", "expenditure.recorded"} <= school  # fmt: skip
    donor = {e["type"] for e in history("donors", "qh")}
    assert {"donor.registered", "grant.committed", "grant.disbursed"} <= donor
    assert {"disbursement.requested", "disbursement.approved"} <= donor
    first = {e["type"] for e in history("entries", recorded["disbursement"])}
    assert {"disbursement.requested", "disbursement.approved"} <= first
    assert "expenditure.recorded" not in donor
    entry = [e["type"] for e in history("entries", recorded["duplicate"])]
    assert "grant.disbursed" in entry
    assert "entry.reversed" in entry
    assert "school-account.funds-withdrawn" not in entry  # that is the reversal's entry
    assert "school-account.funds-withdrawn" in [
        e["type"] for e in history("entries", recorded["reversal"])
    ]
    r = client.get("/v1/history/schools/nowhere-school", headers=headers())
    assert r.status_code == 404
    assert r.json()["type"].endswith(":not-found")


def test_digest_and_verify_through_the_api(
    client: TestClient, headers: Any, recorded: dict[str, Any]
) -> None:
    r = client.get(
        "/v1/audit/digest", params={"min_position": recorded["position"]}, headers=headers()
    )
    assert r.status_code == 200
    digest = r.json()
    assert digest["algorithm"] == "sha256-chain-v1"
    assert digest["position"] >= recorded["position"]
    assert len(digest["hash"]) == 64
    events = all_events(client, headers, recorded["position"])
    assert events[-1]["hash"] == digest["hash"]

    whole = client.post("/v1/audit/verify", headers=headers()).json()
    assert whole["ok"] is True
    assert whole["first_difference"] is None
    assert whole["events_checked"] == len(events)
    earlier = {"position": events[3]["position"], "hash": events[3]["hash"]}
    against = client.post("/v1/audit/verify", json=earlier, headers=headers()).json()
    assert against["ok"] is True
    assert against["digest_matches"] is True
    assert against["checked_through"] == earlier["position"]
    forged = {**earlier, "hash": "0" * 64}
    refused = client.post("/v1/audit/verify", json=forged, headers=headers()).json()
    assert refused["ok"] is False
    assert refused["digest_matches"] is False
    bad = client.post("/v1/audit/verify", json={"position": 1, "hash": "xyz"}, headers=headers())
    assert bad.status_code == 422


def test_chain_position_and_lag_are_scraped(
    client: TestClient, headers: Any, recorded: dict[str, Any]
) -> None:
    digest = client.get(
        "/v1/audit/digest", params={"min_position": recorded["position"]}, headers=headers()
    ).json()
    text = client.get("/metrics", headers=headers()).text
    values = {
        line.split(" ")[0]: int(float(line.split(" ")[1]))
        for line in text.splitlines()
        if 'projection="audit"' in line and not line.startswith("#")
    }
    assert values['ledger_projection_position{projection="audit"}'] >= digest["position"]
    assert values['ledger_projection_lag_events{projection="audit"}'] >= 0
