"""Races by racing: 1,000 hold attempts from several OS processes for the last 10 seats of a show.

The control test runs the same race against a naive check-then-set version and shows it loses seats
to two users, so the main test is one that can fail.
"""

from __future__ import annotations

import itertools
from functools import partial

import pytest
import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.holds.store import HoldStore
from roles.redis_server import RedisEndpoint
from tests.factories import make_show
from tests.holds import race_workers
from tests.holds.sales import sell_in_sql
from tests.support.racing import RacingPools

pytestmark = pytest.mark.on_a_redis_cluster_too

ATTEMPTS_PER_PROCESS = 250


async def race(pools: RacingPools, worker: partial) -> list[tuple[int, list[int]]]:
    """Run the worker in PROCESSES processes at once; every success they report."""
    return list(itertools.chain.from_iterable(await race_workers.in_processes(pools, worker)))


def seats_won_twice(wins: list[tuple[int, list[int]]]) -> set[int]:
    winners: dict[int, set[int]] = {}
    for user, seats in wins:
        for seat in seats:
            winners.setdefault(seat, set()).add(user)
    return {seat for seat, users in winners.items() if len(users) > 1}


async def test_last_ten_seats_are_each_held_by_at_most_one_user(
    store: HoldStore,
    redis: aioredis.Redis,
    redis_endpoint: RedisEndpoint,
    sessions: SessionFactory,
    database_url: str,
    racing_pools: RacingPools,
) -> None:
    # Given a 40-seat show with 30 seats sold in SQL
    show = await make_show(sessions, rows=5, seats_per_row=8)
    await sell_in_sql(sessions, show.show_id, show.seat_ids[:30])
    last_ten = show.seat_ids[30:]
    # When 4 processes fire 250 attempts each, at once, at random 1-3 of the last 10 seats
    worker = partial(
        race_workers.hold_store_worker,
        redis_endpoint.url,
        database_url,
        show.show_id,
        last_ten,
        attempts=ATTEMPTS_PER_PROCESS,
    )
    wins = await race(racing_pools, worker)
    # Then no seat went to two users, and Redis holds exactly what the winners were told
    assert wins, "somebody must win"
    assert seats_won_twice(wins) == set()
    held = {seat for _user, seats in wins for seat in seats}
    assert held <= set(last_ten)
    seat_map = await store.seat_map(show.show_id, None)
    assert set(seat_map.seats_in(seat_map.states[last_ten[0]].__class__.HELD)) == held
    for user, seats in wins:
        current = await store.current_hold(show.show_id, user)
        assert current is not None and list(current.seat_ids) == seats


async def test_control_a_naive_check_then_set_loses_the_race(
    redis: aioredis.Redis, redis_endpoint: RedisEndpoint, racing_pools: RacingPools
) -> None:
    # The same race without the atomic script: check the seats are free, then take them. A machine so
    # loaded that it ran the processes one after another shows no race: then race again, on fresh keys.
    for show_id in range(1, 4):
        worker = partial(
            race_workers.naive_worker, redis_endpoint.url, show_id, list(range(1, 11)), attempts=250
        )
        if seats_won_twice(await race(racing_pools, worker)):
            return
    pytest.fail("without atomicity some seat must be won twice, in one of three races")
