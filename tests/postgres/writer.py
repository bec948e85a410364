"""A separate writer process for the multi-process tests: disbursements from threads.

    python -m tests.postgres.writer URL GRANT_ID --commands N --threads T --day YYYY-MM-DD

Prints one JSON line: the positions of acknowledged disbursements, and refusals by type.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import threading
import time
import uuid
from collections import Counter

from ledger.application.app import LedgerApplication
from ledger.application.committer import CommitNotStarted, CommitOutcomeUnknown
from ledger.application.unit_of_work import Context, Recorded
from ledger.domain.errors import DomainError
from ledger.infrastructure.settings import eventsourcing_env


def _disburse(app: LedgerApplication, args: argparse.Namespace, tag: str, n: int) -> Recorded:
    """One disbursement; an answer that leaves the outcome open is retried with the same
    key, as a client is told to (on a loaded machine a commit can outlive its wait)."""
    while True:
        try:
            return app.disburse(
                Context("writer", f"writer-{tag}-{n:06d}"),
                grant_id=uuid.UUID(args.grant),
                amount=args.amount,
                currency="KZT",
                value_date=dt.date.fromisoformat(args.day),
                payment_reference=f"PP-{tag}-{n}",
            )
        except (CommitOutcomeUnknown, CommitNotStarted):
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("grant")
    parser.add_argument("--commands", type=int, default=40)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--amount", type=int, default=10)
    parser.add_argument("--day", default="2025-02-01")
    args = parser.parse_args()
    # The test's own application made the tables: several processes creating them at
    # once collide in the catalogue. A small pool: all of them share 100 connections.
    env = {**eventsourcing_env(args.url, pool_size=4), "CREATE_TABLE": "n"}
    app = LedgerApplication(env)
    ok: list[int] = []
    refused: Counter[str] = Counter()
    lock = threading.Lock()
    todo = iter(range(args.commands))
    tag = uuid.uuid4().hex[:8]

    def work() -> None:
        while True:
            with lock:
                n = next(todo, None)
            if n is None:
                return
            try:
                recorded = _disburse(app, args, tag, n)
            except DomainError as e:
                with lock:
                    refused[type(e).__name__] += 1
            else:
                with lock:
                    ok.append(recorded.position)

    threads = [threading.Thread(target=work) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    app.close()
    print(json.dumps({"ok": ok, "refused": dict(refused)}))


if __name__ == "__main__":
    main()
