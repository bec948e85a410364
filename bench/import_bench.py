"""What importing a bank statement costs next to the batch route's own rate, same run.

    .venv/bin/python bench/import_bench.py [--lines 10000] [--per-row]

On PostgreSQL, in a fresh schema (dropped at the end), two schools with one open grant
each and their bank accounts registered. A generated statement of ``--lines`` documents
(tranches in, purchases out) per school:
  * batch: the first school's statement, planned once (untimed), its requests sent straight
    to the batch service (``ledger.api.batches.execute``) in batches of 1,000: the route's
    own rate for exactly these commands;
  * import: the second school's statement through the whole import (read the cp1251 file,
    look up accounts, plan, record through the same batch service, record the run and the
    statement's lines), all or nothing unless ``--per-row``.
Reports lines per second of each and the ratio (goal: the import costs at most 1.5x).
Exits 1 if a line was not recorded or the schools' cash differs from the statements.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness.core import Alarms, log, run_main, run_stamp
from bench.harness.db import bench_settings, fresh_schemas, schema_url
from contracts.batch import MAX_BATCH_ITEMS, BatchRequest
from ledger.api import batches, importing
from ledger.api.auth import Principal
from ledger.api.import_files import ImportSettings, SyncGrantFinder, read_upload
from ledger.application.unit_of_work import Context
from ledger.imports.mapping import Directory, Holder
from server.bootstrap import build_ledger
from tests.imports.statements import (
    FUND,
    SCHOOL,
    Org,
    bin_,
    for_codepage,
    iik,
    school_lines,
    statement,
)

URL = os.environ.get("LEDGER_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
OFFICER = Principal(subject="bench-officer", roles=frozenset({"officer"}))
SINCE = dt.date(2024, 1, 1)


def school(n: int) -> Org:
    return Org(f'КГУ "Школа №{n}"', iik("722", f"S{n:012d}"), bin_(f"9506{n:04d}"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--per-row", action="store_true")
    args = parser.parse_args()
    alarms = Alarms()
    _, _, tag = run_stamp()
    schema = f"bench_{tag}"
    with fresh_schemas(URL, [schema], alarms):
        ledger = build_ledger(bench_settings(schema_url(URL, schema), pool_size=4))
        try:
            figures = measure(ledger, args.lines, not args.per_row, alarms)
        finally:
            ledger.close()
    batch_rate, import_rate = figures
    log(f"batch service: {batch_rate:,.0f} lines/s")
    log(f"import:        {import_rate:,.0f} lines/s")
    log(f"import cost / batch cost: {batch_rate / import_rate:.2f}x (goal <= 1.5x)")
    return alarms.banner()


def measure(ledger: object, lines: int, atomic: bool, alarms: Alarms) -> tuple[float, float]:
    from ledger.application.app import LedgerApplication

    assert isinstance(ledger, LedgerApplication)
    keys = iter(range(10**6))

    def ctx() -> Context:
        return Context("bench-officer", f"bench-setup-{next(keys):06d}")

    ledger.register_donor(ctx(), code="fund", name="Fund")
    ledger.register_bank_account(
        ctx(), party_kind="donor", party="fund", iik=FUND.iik, bic=FUND.bic, bin=FUND.bin,
        kbe=None, valid_from=SINCE,
    )  # fmt: skip
    grants: dict[str, str] = {}
    orgs = {}
    for n in (1, 2):
        code, org = f"school-{n}", school(n)
        orgs[code] = org
        ledger.register_school(ctx(), code=code, name=org.name, school_type="hub",
                               region="aktobe", district="Khromtau")  # fmt: skip
        ledger.register_bank_account(
            ctx(), party_kind="school", party=code, iik=org.iik, bic=org.bic, bin=org.bin,
            kbe=None, valid_from=SINCE,
        )  # fmt: skip
        committed = ledger.commit_grant(ctx(), donor="fund", school=code, programme=None,
                                       amount=10**15, currency="KZT",
                                       value_date=SINCE, reference=f"AGR-{n}")  # fmt: skip
        grants[code] = committed.response["grant_id"]
    settings = ImportSettings(50 * 2**20, 200_000, {"119": "equipment"})

    def files(code: str) -> bytes:
        org = orgs[code]
        rows = [
            (org if p == SCHOOL else p, org if q == SCHOOL else q, a, n, t)
            for p, q, a, n, t in school_lines(lines, seed=int(code[-1]))
        ]
        return for_codepage(statement(org, rows)).encode("cp1251")

    def finder(code: str) -> SyncGrantFinder:
        return lambda wanted: {k: [grants[code]] for k in wanted}

    # batch: plan untimed, then only the batch service.
    data = files("school-1")
    prepared = read_upload("s1.txt", data, kind=None, max_bytes=settings.max_bytes,
                           max_rows=settings.max_rows)  # fmt: skip
    directory = Directory(knp_categories=settings.knp_categories)
    directory.holders = {
        o.iik: [Holder(k, c, SINCE, None)]
        for k, c, o in (("donor", "fund", FUND), ("school", "school-1", orgs["school-1"]))
    }
    directory.grants = finder("school-1")(importing.grant_keys(prepared, directory))
    importing.plan(prepared, directory)
    items = [ln.item for ln in prepared.lines if ln.item is not None]
    if len(items) != lines:
        alarms.raise_(f"planned {len(items)} of {lines} lines")
    t0 = time.perf_counter()
    chunks = [items] if atomic else [
        items[i : i + MAX_BATCH_ITEMS] for i in range(0, len(items), MAX_BATCH_ITEMS)
    ]  # fmt: skip
    for chunk in chunks:
        result = batches.execute(
            ledger, OFFICER, BatchRequest.model_construct(atomic=atomic, items=chunk)
        )
        if result.refused:
            alarms.raise_(f"batch service refused {result.refused} items")
    batch_seconds = time.perf_counter() - t0

    # import: everything, from the bytes (a dry run first, timed apart: reading and planning).
    data = files("school-2")
    t0 = time.perf_counter()
    importing.run(ledger, OFFICER, None, "s2.txt", data, settings, finder("school-2"))
    log(f"dry run (read, look up, plan): {time.perf_counter() - t0:.2f}s for {lines} lines")
    spent: dict[str, float] = {}

    def timed(name: str, fn: Callable[..., object]) -> Callable[..., object]:
        def wrapper(*a: object, **k: object) -> object:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t

        return wrapper

    # Where the import's time goes beyond the batch service (patched for this run only).
    for name in ("record", "record_run", "keep_lines"):
        setattr(importing, name, timed(name, getattr(importing, name)))
    t0 = time.perf_counter()
    outcome = importing.run(
        ledger, OFFICER, Context("bench-officer", "bench-import-0001"), "s2.txt", data,
        settings, finder("school-2"), atomic=atomic,
    )  # fmt: skip
    import_seconds = time.perf_counter() - t0
    log("import phases: " + ", ".join(f"{k} {v:.2f}s" for k, v in spent.items()))
    recorded = sum(1 for ln in outcome.prepared.lines if ln.status == "recorded")
    if recorded != lines or outcome.run is None:
        statuses = sorted({(ln.status, str(ln.problems[:1])) for ln in outcome.prepared.lines})
        alarms.raise_(f"the import recorded {recorded} of {lines} lines: {statuses[:3]}")
    for code in ("school-1", "school-2"):
        log(f"{code}: cash {ledger.get_school_account(code).cash}")
    return lines / batch_seconds, lines / import_seconds


if __name__ == "__main__":
    run_main(main)
