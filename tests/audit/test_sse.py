"""The live tail (Server-Sent Events) against a real server: new events arrive in order,
and a reconnect with Last-Event-ID resumes without gaps or repeats."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from server.app import create_app
from tests.conftest import app_settings


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = app_settings(f"sqlite:///{tmp_path}/ledger.sqlite3")
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def read_events(response: httpx.Response, count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in response.iter_lines():
        if line.startswith("id: "):
            current["id"] = int(line[4:])
        elif line.startswith("event: "):
            current["event"] = line[7:]
        elif line.startswith("data: "):
            current["data"] = json.loads(line[6:])
        elif line == "" and "id" in current:
            events.append(current)
            current = {}
            if len(events) == count:
                return events
    return events


def test_tail_delivers_new_events_and_resumes(server: str, headers: Any) -> None:
    with httpx.Client(base_url=server, timeout=20) as http:

        def donor(code: str) -> None:
            body = {"code": code, "name": code.upper()}
            r = http.post("/v1/donors", json=body, headers=headers())
            assert r.status_code == 201, r.text

        donor("first-donor")
        with http.stream("GET", "/v1/events/stream", params={"after": 0}, headers=headers()) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            threading.Timer(0.5, donor, args=("second-donor",)).start()
            events = read_events(r, 4)  # two events per registration: donor + claim
        assert [e["id"] for e in events] == sorted(e["id"] for e in events)
        assert [e["data"]["position"] for e in events] == [e["id"] for e in events]
        donors = [e["data"]["payload"]["code"] for e in events if e["event"] == "donor.registered"]
        assert donors == ["first-donor", "second-donor"]

        donor("third-donor")
        resume = {**headers(), "Last-Event-ID": str(events[-1]["id"])}
        with http.stream(
            "GET", "/v1/events/stream", params={"type": "donor.registered"}, headers=resume
        ) as r:
            (third,) = read_events(r, 1)
        assert third["data"]["payload"]["code"] == "third-donor"
        assert third["id"] > events[-1]["id"]


def test_a_stream_ends_after_max_seconds(server: str, headers: Any) -> None:
    with httpx.Client(base_url=server, timeout=20) as http:
        assert http.post("/v1/donors", json={"code": "d-1", "name": "D"}, headers=headers())
        started = time.monotonic()
        r = http.get("/v1/events/stream", params={"after": 0, "max_seconds": 1}, headers=headers())
        elapsed = time.monotonic() - started
    assert r.status_code == 200
    assert 0.9 <= elapsed < 10
    assert "event: donor.registered" in r.text
    assert r.text.startswith("retry: 2000")
