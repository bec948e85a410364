"""Metrics, liveness and readiness through the real app."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import IN_CI, make_store


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"event_store": "ok", "read_store": "ok", "projections": "ok"}


def test_metrics_count_requests_events_refusals_and_replays(
    client: TestClient, headers: Any
) -> None:
    client.post("/v1/donors", json={"code": "qh", "name": "QH"}, headers=headers())
    client.post("/v1/programmes", json={"code": "hubs", "name": "Hubs"}, headers=headers())
    school = {"code": "kh", "name": "K", "school_type": "hub", "region": "aktobe", "district": "d"}
    client.post("/v1/schools", json=school, headers=headers())
    grant = client.post(
        "/v1/grants",
        json={"donor": "qh", "school": "kh", "amount": 1_000, "value_date": "2024-01-01",
              "reference": "A", "programme": "hubs"},
        headers=headers(),
    ).json()["grant_id"]  # fmt: skip
    url = f"/v1/grants/{grant}/disbursements"
    body = {"amount": 400, "value_date": "2024-02-01", "payment_reference": "P"}
    paid = client.post(url, json=body, headers=headers(key="metrics-key-1"))
    assert paid.status_code == 201
    assert client.post(url, json=body, headers=headers(key="metrics-key-1")).status_code == 201
    assert client.post(url, json={**body, "amount": 10**6}, headers=headers()).status_code == 409
    assert client.post(url, json={**body, "amount": -1}, headers=headers()).status_code == 422
    client.get("/v1/no/such/path")
    # Business gauges come from the read models: let them reach the disbursement.
    at = paid.json()["position"]
    assert client.get("/v1/balances/trial-balance", params={"min_position": at}).status_code == 200

    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    samples = _samples(text)
    route = "/v1/grants/{grant_id}/disbursements"
    key = ("ledger_http_requests_total",
           (("method", "POST"), ("route", route), ("status_class", "2xx")))  # fmt: skip
    assert samples[key] == 2
    assert samples[("ledger_events_appended_total", (("type", "Grant.Disbursed"),))] == 1
    assert samples[("ledger_commands_rejected_total", (("reason", "invariant"),))] == 1
    assert samples[("ledger_commands_rejected_total", (("reason", "validation"),))] == 1
    assert samples[("ledger_idempotent_replays_total", ())] == 1
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status_class", "4xx"))
    assert samples[("ledger_http_requests_total", unmatched)] == 1
    assert ("ledger_projection_log_head", ()) in samples
    assert any(name == "ledger_build_info" for name, _ in samples)
    assert samples[("ledger_commit_batch_commands_count", ())] >= 4
    money = {
        ("ledger_donor_committed_minor_units", (("currency", "KZT"), ("donor", "qh"))): 1_000,
        ("ledger_donor_disbursed_minor_units", (("currency", "KZT"), ("donor", "qh"))): 400,
        ("ledger_donor_undisbursed_minor_units", (("currency", "KZT"), ("donor", "qh"))): 600,
        (
            "ledger_region_cash_on_hand_minor_units",
            (("currency", "KZT"), ("region", "aktobe")),
        ): 400,
        ("ledger_trial_balance_imbalance_minor_units", (("currency", "KZT"),)): 0,
        (
            "ledger_programme_committed_minor_units",
            (("currency", "KZT"), ("programme", "hubs")),
        ): 1_000,
        (
            "ledger_programme_disbursed_minor_units",
            (("currency", "KZT"), ("programme", "hubs")),
        ): 400,
    }
    assert {k: samples[k] for k in money} == money
    # Low cardinality: no grant id (nor any other UUID) becomes a label value.
    assert grant not in text
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", text)


def test_scraped_metrics_pass_promtool(client: TestClient, headers: Any) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if IN_CI:
            pytest.fail("promtool is required under CI=true (scripts/test.sh installs it)")
        pytest.skip("promtool not installed (Debian package prometheus)")
    client.post("/v1/donors", json={"code": "qh", "name": "Q"}, headers=headers())
    client.get("/v1/donors/qh")
    text = client.get("/metrics").text
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "", checked.stdout  # no lint complaints either


def test_one_structured_log_line_per_request_with_request_id(
    client: TestClient, headers: Any
) -> None:
    with structlog.testing.capture_logs() as logs:
        made = client.post(
            "/v1/donors",
            json={"code": "qh", "name": "Q"},
            headers={**headers(), "X-Request-ID": "req-abc.123"},
        )
        refused = client.post("/v1/donors", json={"code": "qh", "name": "secret-name"})
        odd = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] == "req-abc.123"
    assert len(odd.headers["x-request-id"]) == 32  # not echoed: replaced by a fresh id
    lines = [entry for entry in logs if entry["event"] == "request"]
    assert [(x["route"], x["status"], x["outcome"]) for x in lines] == [
        ("/v1/donors", 201, "ok"),
        ("/v1/donors", 400, "refused"),
        ("/healthz", 200, "ok"),
    ]
    first = lines[0]
    assert first["request_id"] == "req-abc.123"
    assert first["actor"] == "alice"
    assert first["position"] == made.json()["position"]
    assert first["duration_ms"] >= 0
    assert refused.headers["x-request-id"] == lines[1]["request_id"]
    # Bodies never reach the log.
    assert "secret-name" not in repr(logs)


def test_read_side_metrics_events_processed_and_last_verify(
    client: TestClient, headers: Any, ledger: Any, store_url: str
) -> None:
    from projections.rebuild import verify
    from projections.runner import ProjectionRunner

    made = client.post("/v1/donors", json={"code": "qh", "name": "Q"}, headers=headers())
    at = made.json()["position"]
    client.get("/v1/balances/trial-balance", params={"min_position": at})
    store = make_store(store_url, ensure_schema=False) if store_url != "memory://" else None
    if store is not None:
        try:
            assert verify(ProjectionRunner(ledger.event_log, store)) == []
        finally:
            store.close()
    samples = _samples(client.get("/metrics").text)
    processed = (("projection", "ledger"), ("type", "Donor.Registered"))
    assert samples[("ledger_projection_events_processed_total", processed)] == 1
    if store is not None:
        assert samples[("ledger_projection_last_run_success", (("kind", "verify"),))] == 1
        assert samples[("ledger_projection_verify_differences", ())] == 0
        assert samples[("ledger_projection_last_run_timestamp_seconds", (("kind", "verify"),))] > 0
