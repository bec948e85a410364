"""The framework's ceiling: an in-memory FastAPI app with the disbursement route's shape.

``POST /v1/grants/{grant_id}/disbursements`` takes the ledger's own pydantic body
(``contracts.entries.Disburse``), a UUID path parameter and an ``Idempotency-Key``
header, runs a plain ``def`` route (so FastAPI's thread-pool hop is paid as in the
ledger), adds the amount to a dict under a lock and answers 201 with the ledger's own
response model. No store, no auth, no middleware: what FastAPI and uvicorn alone cost.

It is served by the same uvicorn, HTTP protocol and worker count as ``ledger serve``
(``python -m bench.standin --port P --workers N``), so the ratio of the ledger's rate to
this one is the share of the framework's speed the ledger reaches.
"""

from __future__ import annotations

import argparse
import itertools
import threading
import uuid
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Header, HTTPException, Path, Response

from contracts.entries import Disburse, GrantEntryRecorded
from server.http_guard import PROTOCOL

FACTORY = "bench.standin:create_app"


def create_app() -> FastAPI:
    app = FastAPI(title="stand-in", telemetry={"tracing": False, "metrics": False, "logs": False})
    totals: dict[uuid.UUID, int] = {}
    positions = itertools.count(1)
    lock = threading.Lock()

    @app.post(
        "/v1/grants/{grant_id}/disbursements", status_code=201, response_model=GrantEntryRecorded
    )
    def disburse(
        grant_id: Annotated[uuid.UUID, Path(description="Grant id.")],
        body: Disburse,
        response: Response,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> GrantEntryRecorded:
        if not idempotency_key:
            raise HTTPException(400, "Idempotency-Key required")
        with lock:
            totals[grant_id] = totals.get(grant_id, 0) + body.amount
            position = next(positions)
        entry = uuid.uuid4().hex
        response.headers["X-Log-Position"] = str(position)
        response.headers["X-Entry-Id"] = entry
        return GrantEntryRecorded(entry_id=entry, position=position, grant_id=str(grant_id))

    @app.get("/v1/donors/{code}")
    def ready(code: str) -> dict[str, str]:
        """What the harness's readiness probe asks for."""
        return {"code": code}

    return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--http", default=PROTOCOL, help="uvicorn's HTTP protocol (ledger serve's)")
    args = p.parse_args()
    uvicorn.run(
        FACTORY,
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        http=args.http,
    )


if __name__ == "__main__":
    main()
