"""Hold reminders against real Redis and SQL: the core notes when each hold's reminder falls due as it
writes the hold, and `due_reminders` hands each one out once, a minute before the hold lapses, only
while the hold is live, however many callers race for it."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest
import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.store import Hold, HoldStore
from roles.redis_server import RedisEndpoint
from tests.factories import make_show
from tests.holds import race_workers
from tests.support.clocks import HandClock
from tests.support.racing import RacingPools

pytestmark = pytest.mark.on_a_redis_cluster_too

ANN, BEN, CAT = 301, 302, 303
# The store's holds last 300 s, offers 120 s; the reminder comes 60 s before the end.
REMINDED_AFTER = 300 - 60


def tokens(holds: list[Hold]) -> list[str]:
    return sorted(hold.token for hold in holds)


async def test_a_hold_is_reminded_once_a_minute_before_it_lapses(
    store: HoldStore, sessions: SessionFactory, clock: HandClock
) -> None:
    # Given Ann's hold and Ben's, made 30 s later
    show = await make_show(sessions, rows=1, seats_per_row=4)
    ann = await store.hold(show.show_id, ANN, show.seat_ids[:2])
    clock.advance(30)
    ben = await store.hold(show.show_id, BEN, show.seat_ids[2:3])
    assert isinstance(ann, Hold) and isinstance(ben, Hold)
    # When reminders are asked for before Ann's is due, then as it falls due, then again
    clock.advance(REMINDED_AFTER - 30 - 1)
    assert await store.due_reminders() == []
    clock.advance(1)
    # Then Ann's hold is handed out once, as it is, and Ben's 30 s later, once
    assert await store.due_reminders() == [ann]
    assert await store.due_reminders() == []
    clock.advance(29)
    assert await store.due_reminders() == []
    clock.advance(1)
    assert await store.due_reminders() == [ben]
    clock.advance(30)
    assert await store.due_reminders() == []


async def test_a_hold_made_again_is_reminded_again_and_a_gone_one_never(
    store: HoldStore, sessions: SessionFactory, clock: HandClock
) -> None:
    # Given Ann reminded of her hold, then choosing another seat 10 s later (a new hold, lasting 300 s
    # from then); and Ben's hold, made 30 s after hers, which he lets go before its reminder
    show = await make_show(sessions, rows=1, seats_per_row=4)
    s = show.seat_ids
    await store.hold(show.show_id, ANN, [s[0]])
    clock.advance(30)
    ben = await store.hold(show.show_id, BEN, [s[1]])
    assert isinstance(ben, Hold)
    clock.advance(REMINDED_AFTER - 30)
    assert [hold.user_id for hold in await store.due_reminders()] == [ANN]
    clock.advance(10)
    await store.release(show.show_id, ben.token)
    again = await store.hold(show.show_id, ANN, [s[0], s[2]])
    assert isinstance(again, Hold)
    # When Ben's reminder would have fallen due, and Ann's first hold lapsed
    clock.advance(60)
    # Then nobody is reminded
    assert await store.due_reminders() == []
    # And a minute before Ann's new hold lapses, she is reminded of it
    clock.advance(REMINDED_AFTER - 60 - 1)
    assert await store.due_reminders() == []
    clock.advance(1)
    assert await store.due_reminders() == [again]


async def test_an_offer_is_reminded_and_a_hold_shorter_than_a_minute_is_not(
    redis: aioredis.Redis, inventory: SqlInventory, sessions: SessionFactory, clock: HandClock
) -> None:
    # Given a store whose holds last 50 s (too short for a reminder) and offers 120 s: Ann holds the only
    # seat, Ben waits for it, Ann lets it go and Ben is offered it
    store = HoldStore(redis, inventory, CollectingSink(), clock=clock, hold_seconds=50, offer_seconds=120)
    show = await make_show(sessions, rows=1, seats_per_row=1)
    ann = await store.hold(show.show_id, ANN, show.seat_ids)
    assert isinstance(ann, Hold)
    await store.waitlist.join(show.show_id, BEN, 1)
    clock.advance(1)
    assert await store.due_reminders() == []
    await store.release(show.show_id, ann.token)
    offer = await store.current_hold(show.show_id, BEN)
    assert offer is not None and offer.is_offer
    # When a minute before the offer lapses comes
    clock.advance(60)
    # Then Ben is reminded of his offer
    assert await store.due_reminders() == [offer]


async def test_racing_callers_hand_each_reminder_out_once(
    redis: aioredis.Redis, inventory: SqlInventory, sessions: SessionFactory, clock: HandClock
) -> None:
    # Given 60 holds over three shows, all falling due for their reminders together
    stores = [HoldStore(redis, inventory, CollectingSink(), clock=clock) for _ in range(8)]
    made: list[Hold] = []
    for _ in range(3):
        show = await make_show(sessions, rows=2, seats_per_row=10)
        for i, seat in enumerate(show.seat_ids):
            hold = await stores[i % 8].hold(show.show_id, 1000 + i, [seat])
            assert isinstance(hold, Hold)
            made.append(hold)
    clock.advance(REMINDED_AFTER)
    # When eight callers (bot processes, each with its own store) ask for reminders at once, twice over
    rounds = [await asyncio.gather(*(store.due_reminders() for store in stores)) for _ in range(2)]
    # Then every hold was handed out exactly once
    handed = [hold for round_ in rounds for holds in round_ for hold in holds]
    assert tokens(handed) == tokens(made)


# The race is Redis's alone (SQL only lays out the halls): on one database, on a server and a cluster.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_racing_processes_hand_each_reminder_out_once(
    store: HoldStore,
    redis_endpoint: RedisEndpoint,
    database_url: str,
    sessions: SessionFactory,
    clock: HandClock,
    racing_pools: RacingPools,
) -> None:
    # Given 60 holds over three shows, all falling due for their reminders together
    made: list[Hold] = []
    for _ in range(3):
        show = await make_show(sessions, rows=2, seats_per_row=10)
        for i, seat in enumerate(show.seat_ids):
            hold = await store.hold(show.show_id, 1000 + i, [seat])
            assert isinstance(hold, Hold)
            made.append(hold)
    clock.advance(REMINDED_AFTER)
    # When four processes (bot processes), four callers each, ask for reminders at once until none is left
    worker = partial(race_workers.reminders_worker, redis_endpoint.url, database_url, clock.now)
    handed = [token for tokens in await race_workers.in_processes(racing_pools, worker) for token in tokens]
    # Then every hold was handed out exactly once
    assert sorted(handed) == tokens(made)
