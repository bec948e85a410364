"""Scale-out on one machine (bench/scale_out.py): 3 API and 2 projection processes on one
PostgreSQL, kill -9 of the active projection process and of one API mid-stream."""

from __future__ import annotations

import pytest

from bench.scale_out import run
from tests.conftest import PG_URL, require_postgres


@pytest.mark.postgres
def test_three_apis_two_runners_survive_kill_9(capsys: pytest.CaptureFixture[str]) -> None:
    require_postgres()
    report = run(PG_URL, requests=300, threads=8)
    with capsys.disabled():  # the throughput figures belong in the CI log
        print("\n" + "\n".join(report.lines))
    assert report.failures == []
    assert report.takeover_seconds is not None and report.takeover_seconds < 15
    assert report.single_rps > 0 and report.three_rps > 0
