"""A replay on PostgreSQL writes each batch while applying the next: the result is the same.

Tiny replay batches put reversals and grants batches away from the entries they refer
to, so the look-ups that must wait for the batch in flight are exercised.
"""

from __future__ import annotations

import pytest
from psycopg import IntegrityError
from sqlalchemy import select

from projections.rebuild import rebuild, verify
from projections.runner import ProjectionRunner
from projections.store import active_generation, create_generation, tracked_position
from projections.tables import tables_for
from tests.conftest import make_app, make_store
from tests.projections.test_replay import World, legs_balances, read_balances

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("replay_batch", [1, 2, 5])
def test_pipelined_rebuild_equals_live_and_the_legs(pg_schema_url: str, replay_batch: int) -> None:
    app, store = make_app(pg_schema_url), make_store(pg_schema_url)
    try:
        world = World(app)
        for i in range(60):
            world.do(["commit", "disburse", "spend", "reverse", "in-kind"][i % 5], i, 1000 + i, i)
        live = ProjectionRunner(app.event_log, store)
        live.catch_up()
        before = read_balances(store)
        with store.engine.connect() as conn:
            old = active_generation(conn)
            reversed_before = conn.execute(
                select(tables_for(old).entries.c.reversed_by).where(
                    tables_for(old).entries.c.reversed_by.is_not(None)
                )
            ).all()
        assert reversed_before  # the scenario has reversals to look up
        progressed: list[int] = []
        replaying = ProjectionRunner(app.event_log, store, replay_batch_size=replay_batch)
        new = rebuild(replaying, progress=progressed.append)
        assert sum(progressed) >= app.log_head()
        assert read_balances(store) == before == legs_balances(app)
        with store.engine.connect() as conn:
            assert tracked_position(conn, tables_for(new)) == app.log_head()
        assert verify(ProjectionRunner(app.event_log, store, replay_batch_size=replay_batch)) == []
    finally:
        store.close()
        app.close()


def test_a_failing_batch_fails_the_replay_after_the_batches_before_it(
    pg_schema_url: str,
) -> None:
    app, store = make_app(pg_schema_url), make_store(pg_schema_url)
    try:
        world = World(app)
        for i in range(30):
            world.do(["commit", "disburse", "spend"][i % 3], i, 1000 + i, i)
        ProjectionRunner(app.event_log, store).catch_up()
        with store.engine.begin() as conn:
            live = tables_for(active_generation(conn))
            late = (
                conn.execute(select(live.entries).order_by(live.entries.c.position.desc()).limit(1))
                .mappings()
                .one()
            )
            scratch = create_generation(conn, 50, indexes=False)
            # The batch that writes this entry again fails on its key.
            conn.execute(scratch.entries.insert().values(**late))
        runner = ProjectionRunner(app.event_log, store, replay_batch_size=4)
        with pytest.raises(IntegrityError):
            runner.catch_up(generation=50)
        with store.engine.connect() as conn:
            reached = tracked_position(conn, scratch)
            assert 0 < reached < late["position"]
            # Every committed batch is whole: the rows stop where the position does.
            positions = conn.execute(select(scratch.entries.c.position)).scalars().all()
            assert max(p for p in positions if p != late["position"]) <= reached
    finally:
        store.close()
        app.close()
