"""HTTP conventions through the real app: strict query strings, no redirects, one problem shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:grant-ledger:problem:{code}"
    return body


@pytest.mark.parametrize(
    "path",
    [
        "/v1/journal?school=khromtau&knd=expenditure",
        "/v1/schools?regoin=aktobe",
        "/v1/grants?state=open",
        "/v1/balances/accounts?prefix=schools:&limt=5",
        "/v1/balances/trial-balance?asof=2024-01-01",
        "/v1/balances/schools/khromtau?as_at=2024-01-01",
        "/v1/approvals/pending?grant=x",
        "/v1/events?from=3",
        "/v1/periods?year=2024",
        "/v1/schools/khromtau?verbose=1",
        "/v1/projections/status?x=1",
        "/v1/exports/journal.csv?format=xlsx",
    ],
)
def test_an_unknown_query_parameter_is_a_400_problem(client: TestClient, path: str) -> None:
    body = problem(client.get(path), 400, "unknown-query-parameter")
    unknown = path.rsplit("&", 1)[-1].rsplit("?", 1)[-1].split("=", maxsplit=1)[0]
    assert unknown in body["detail"]
    assert "accepts:" in body["detail"]


def test_the_400_is_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/journal", "/v1/schools", "/v1/grants", "/v1/balances/accounts"):
        assert "400" in paths[path]["get"]["responses"], path


def test_declared_parameters_still_pass(client: TestClient) -> None:
    # Aliased (from/to), repeatable (kind) and dependency-declared (as_of) parameters count.
    for path in (
        "/v1/journal?from=2024-01-01&to=2024-12-31&kind=commitment&kind=reversal&limit=5",
        "/v1/balances/trial-balance?as_of=2024-01-01&known_at=2030-01-01T00:00:00Z",
        "/v1/events?after=0&limit=5&type=donor.registered",
    ):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("with_token", [True, False])
def test_a_trailing_slash_is_a_404_problem_never_a_redirect(
    client: TestClient, with_token: bool
) -> None:
    headers = {} if with_token else {"Authorization": ""}
    for path in ("/v1/schools/", "/v1/grants/", "/v1/balances/regions/"):
        response = client.get(path, headers=headers, follow_redirects=False)
        problem(response, 404, "not-found")
        assert "location" not in response.headers


def test_refusals_are_serialised_like_every_other_problem(client: TestClient, headers: Any) -> None:
    unauthenticated = client.get("/v1/journal", headers={"Authorization": ""})
    forbidden = client.get("/v1/journal", headers=headers(roles=["viewer"]))
    not_found = client.get("/v1/balances/schools/nowhere")
    for response, status in ((unauthenticated, 401), (forbidden, 403), (not_found, 404)):
        assert response.status_code == status
        body = response.json()
        assert list(body) == ["type", "title", "status", "detail", "instance"]
        rendered = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        assert response.content == rendered


def test_min_position_beyond_the_log_head_answers_at_once(client: TestClient) -> None:
    body = problem(
        client.get("/v1/balances/trial-balance", params={"min_position": 10**9}),
        503,
        "projection-lagging",
    )
    assert "beyond the end of the event log" in body["detail"]
    feed = problem(client.get("/v1/events", params={"min_position": 10**9}), 503,
                   "projection-lagging")  # fmt: skip
    assert "beyond the end of the event log" in feed["detail"]


def test_verify_takes_the_digest_exactly_as_returned(client: TestClient, headers: Any) -> None:
    r = client.post("/v1/donors", json={"code": "aitas", "name": "AITAS"}, headers=headers())
    assert r.status_code == 201
    digest = client.get("/v1/audit/digest", params={"min_position": r.json()["position"]}).json()
    assert set(digest) == {"algorithm", "position", "hash", "events"}
    report = client.post("/v1/audit/verify", json=digest)
    assert report.status_code == 200, report.text
    assert report.json()["ok"] is True and report.json()["digest_matches"] is True
    miscounted = client.post("/v1/audit/verify", json={**digest, "events": digest["events"] + 1})
    assert miscounted.json()["ok"] is False and miscounted.json()["digest_matches"] is False
    assert "counts" in " ".join(miscounted.json()["notes"])
    other = client.post("/v1/audit/verify", json={**digest, "algorithm": "md5"})
    problem(other, 422, "validation-error")


def test_periods_show_when_they_were_closed_and_reopened(client: TestClient, headers: Any) -> None:
    reason = {"reason": "month-end"}
    assert (
        client.post("/v1/periods/2024-01/close", json=reason, headers=headers()).status_code == 201
    )
    assert (
        client.post("/v1/periods/2024-02/close", json=reason, headers=headers()).status_code == 201
    )
    assert (
        client.post("/v1/periods/2024-02/reopen", json=reason, headers=headers()).status_code == 201
    )
    body = client.get("/v1/periods").json()
    [closed] = body["closed"]
    assert closed["period"] == "2024-01" and closed["closed_at"] is not None
    times = [h["at"] for h in body["history"]]
    assert all(t is not None for t in times) and times == sorted(times)
    assert closed["closed_at"] == times[0]
