"""The expiry sweeper: several at once retire every due hold exactly once; a dead sweeper's shows and a
lost index entry are recovered."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink, HoldExpired
from booking_core.holds.due_index import DueIndex
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.lua import RedisScripts
from booking_core.holds.store import HoldStore
from booking_core.redis_keys import DUE_SHOWS
from roles.redis_server import RedisEndpoint
from tests.factories import make_show
from tests.support.clocks import HandClock

pytestmark = pytest.mark.on_a_redis_cluster_too


async def test_concurrent_sweepers_retire_each_hold_once(
    store: HoldStore,
    redis_endpoint: RedisEndpoint,
    sessions: SessionFactory,
    clock: HandClock,
    inventory: SqlInventory,
) -> None:
    # Given 60 holds over 5 shows, all past their expiry
    shows = [await make_show(sessions, rows=3, seats_per_row=4) for _ in range(5)]
    for show in shows:
        for user, seat in enumerate(show.seat_ids):
            await store.hold(show.show_id, 1000 + user, [seat])
    clock.advance(301)
    # When six sweepers, each with its own connection and sink, sweep at the same time, while the
    # same six also run each show's offer step (which retires due holds too), all at once
    clients = [redis_endpoint.client() for _ in range(6)]
    sinks = [CollectingSink() for _ in clients]
    sweepers = [HoldStore(c, inventory, sink, clock=clock) for c, sink in zip(clients, sinks, strict=True)]
    try:
        runs = [sweeper.sweep() for sweeper in sweepers]
        settles = [  # a different sweeper reaches each show first
            sweepers[(i + k) % len(sweepers)].waitlist.settle(show.show_id)
            for k in range(len(sweepers))
            for i, show in enumerate(shows)
        ]
        swept, settled = await asyncio.gather(asyncio.gather(*runs), asyncio.gather(*settles))
        again = await asyncio.gather(*(sweeper.sweep() for sweeper in sweepers))
    finally:
        for client in clients:
            await client.aclose()
    # Then each hold expired exactly once in total, and several sweepers shared the work
    told = Counter(
        (e.show_id, e.user_id) for sink in sinks for e in sink.events if isinstance(e, HoldExpired)
    )
    assert len(told) == 60 and set(told.values()) == {1}
    assert sum(swept) + sum(outcome.expired for outcome in settled) == 60 and sum(again) == 0
    assert sum(1 for sink in sinks if sink.events) >= 2


async def test_a_dead_sweepers_shows_are_swept_after_its_lease(
    store: HoldStore, redis: aioredis.Redis, sessions: SessionFactory, clock: HandClock, sink: CollectingSink
) -> None:
    # Given a due hold whose show a sweeper took and then died with
    show = await make_show(sessions)
    await store.hold(show.show_id, 7, [show.seat_ids[0]])
    clock.advance(301)
    assert await DueIndex(RedisScripts(redis)).take(int(clock.now * 1000), 10) == [show.show_id]
    assert await store.sweep() == 0
    # When its lease has run out
    clock.advance(31)
    # Then another sweep frees the hold
    assert await store.sweep() == 1
    assert sink.events == [HoldExpired(show.show_id, 7, (show.seat_ids[0],))]


async def test_a_show_lost_from_the_index_is_registered_again(
    store: HoldStore, redis: aioredis.Redis, sessions: SessionFactory, clock: HandClock, sink: CollectingSink
) -> None:
    # Given a hold whose show's index entry was lost (say its registration never reached Redis)
    show = await make_show(sessions)
    await store.hold(show.show_id, 7, [show.seat_ids[0]])
    await redis.zrem(DUE_SHOWS, str(show.show_id))
    clock.advance(305)
    assert await store.sweep() == 0
    # When anyone holds seats of that show again
    await store.hold(show.show_id, 8, [show.seat_ids[5]])
    # Then the overdue hold is noticed and swept
    assert await store.sweep() == 1
    assert sink.events == [HoldExpired(show.show_id, 7, (show.seat_ids[0],))]
