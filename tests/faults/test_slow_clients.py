"""Slow and oversized clients against a real ``ledger serve`` process (raw sockets).

An unterminated huge header needs no token; slow headers and slow bodies used to
hold a connection open for as long as the client liked. Each now gets a problem
answer and a closed connection within the configured bounds.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_JWT_SECRET, token

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
KEEP_ALIVE = 1.0
MAX_HEADER = 8 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    folder: Path = tmp_path_factory.mktemp("slow")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": f"sqlite:///{folder}/ledger.sqlite3",
        "LEDGER_JWT_SECRET": TEST_JWT_SECRET,
        "LEDGER_HTTP_MAX_HEADER_BYTES": str(MAX_HEADER),
        "LEDGER_HTTP_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "LEDGER_HTTP_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "LEDGER_HTTP_KEEP_ALIVE_SECONDS": str(KEEP_ALIVE),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "ledger serve exited"
            assert time.monotonic() < deadline, "ledger serve did not start"
            time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_an_unterminated_huge_header_is_431_and_closed(served: tuple[str, int]) -> None:
    sock = _connect(served)
    with sock:
        sock.sendall(b"GET /v1/journal HTTP/1.1\r\nHost: x\r\nX-Junk: ")
        sent = 0
        try:
            while sent < 4 * 1024 * 1024:  # the server cuts us off long before this
                sock.sendall(b"a" * 16384)
                sent += 16384
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _read_until_closed(sock)
    assert _status(answer) == 431, answer[:200]
    assert b"header-too-large" in answer


def test_slow_headers_are_408_and_closed(served: tuple[str, int]) -> None:
    sock = _connect(served)
    with sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(int(HEADER_TIMEOUT * 10) + 20):  # a byte every 0.1 s, never done
                sock.sendall(b"X")
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _read_until_closed(sock)
        took = time.monotonic() - started
    assert _status(answer) == 408, answer[:200]
    assert b"request-timeout" in answer
    assert took < HEADER_TIMEOUT + 3, took


def test_a_silent_connection_is_closed(served: tuple[str, int]) -> None:
    sock = _connect(served)
    with sock:
        answer = _read_until_closed(sock)  # we send nothing at all
    assert _status(answer) == 408, answer[:200]


def test_a_slow_body_is_408_and_closed(served: tuple[str, int]) -> None:
    sock = _connect(served)
    with sock:
        sock.sendall(
            b"POST /v1/donors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + token().encode() + b"\r\nIdempotency-Key: slow-body-1\r\n"
            b'Content-Length: 100\r\n\r\n{"code":'
        )
        started = time.monotonic()
        answer = _read_until_closed(sock)
        took = time.monotonic() - started
    assert _status(answer) == 408, answer[:200]
    assert took < BODY_TIMEOUT + 3, took


def test_an_idle_kept_alive_connection_is_closed(served: tuple[str, int]) -> None:
    sock = _connect(served)
    with sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
        assert _status(first) == 200
        started = time.monotonic()
        rest = _read_until_closed(sock)  # idle: the server closes after keep-alive
        took = time.monotonic() - started
    assert (first + rest).count(b"HTTP/1.1 ") == 1  # nothing but the one answer, then closed
    assert took < KEEP_ALIVE + 3, took


def test_normal_requests_still_work(served: tuple[str, int]) -> None:
    host, port = served
    assert httpx.get(f"http://{host}:{port}/healthz", timeout=5).status_code == 200
