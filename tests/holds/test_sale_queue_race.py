"""The on-sale queue admitted by several worker processes at once: the turn cap holds at every moment,
nobody is admitted twice, and the audit log in SQL records exactly the admissions made."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.sale_queue_audit import audit_log
from booking_core.holds.store import HoldStore
from booking_core.models import utc_now
from roles.redis_server import RedisEndpoint
from tests.factories import make_show
from tests.holds import sale_queue_workers
from tests.support.racing import RacingPools

pytestmark = pytest.mark.on_a_redis_cluster_too

PROCESSES = 3
PEOPLE = 60
TURNS = 5
TURN_SECONDS = 1
WINDOW_MS = TURN_SECONDS * 1000
RUN_SECONDS = 6.0


def most_open_at_once(admissions: list[tuple[int, int]]) -> int:
    """The most turn windows [end - window, end) open at one moment."""
    edges = sorted(
        [(ends - WINDOW_MS, 1) for _user, ends in admissions] + [(ends, -1) for _user, ends in admissions],
        key=lambda edge: (edge[0], edge[1]),  # a window ending at t closes before one opening at t
    )
    most = current = 0
    for _moment, step in edges:
        current += step
        most = max(most, current)
    return most


async def test_several_worker_processes_admit_within_the_cap_and_nobody_twice(
    redis: aioredis.Redis,
    redis_endpoint: RedisEndpoint,
    sessions: SessionFactory,
    database_url: str,
    racing_pools: RacingPools,
) -> None:
    # Given 60 people queued for a premiere whose sale opens now
    opens = utc_now() + timedelta(seconds=1)
    show = await make_show(sessions, rows=5, seats_per_row=20, on_sale_at=opens, sale_queue=True)
    store = HoldStore(redis, SqlInventory(sessions), CollectingSink())
    for user in range(1, PEOPLE + 1):
        await store.sale_queue.join(show.show_id, user, 2)
    # when 3 worker processes run the queue pass as fast as they can for 6 s (5 turns of 1 s at once)
    worker = partial(
        sale_queue_workers.admitting_worker,
        redis_endpoint.url,
        database_url,
        TURNS,
        TURN_SECONDS,
        opens.timestamp(),
        RUN_SECONDS,
    )
    runs = await racing_pools.race([worker] * PROCESSES)
    admissions = [admission for _spans, run in runs for admission in run]
    spans = [span for run_spans, _run in runs for span in run_spans]
    # then every process ran passes all along (they really raced; which one wins each window varies),
    # nobody was admitted twice,
    assert all(len(run_spans) >= 10 for run_spans, _run in runs), [len(run_spans) for run_spans, _run in runs]
    users = [user for user, _ends in admissions]
    assert len(users) == len(set(users))
    # never more than 5 chose at once,
    assert most_open_at_once(admissions) == TURNS
    # the queue never stalled: every pass that began with room for k more saw at least k admitted while it
    # ran, by itself or a racing process (how fast passes run on a loaded machine does not matter),
    assert len(users) > 2 * TURNS
    for start_ms, end_ms in spans:
        room = TURNS - sum(1 for _u, ends in admissions if ends - WINDOW_MS < start_ms < ends)
        admitted_meanwhile = sum(1 for _u, ends in admissions if start_ms <= ends - WINDOW_MS <= end_ms)
        assert admitted_meanwhile >= room, (start_ms, end_ms, room, admitted_meanwhile, sorted(admissions))
    # and the audit log holds each admission once.
    logged = [row.user_id for row in await audit_log(sessions, show.show_id) if row.kind == "admitted"]
    assert sorted(logged) == sorted(users)
