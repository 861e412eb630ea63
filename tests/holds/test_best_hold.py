"""Best N seats side by side, chosen and held inside Redis in one script call (best.lua).

The script must pick what the pure `best_block` picks for the same hall and the same taken seats, hold
it with every rule of a hold, answer with the fresh seat map, and never lose a race: a rush of presses
fills every free block, each press one script call.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.holds.best_hold import ranking_key
from booking_core.holds.best_seats import best_block
from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.seat_map import SeatState
from booking_core.holds.store import Hold, HoldStore
from booking_core.redis_keys import ShowKeys
from tests.factories import make_show
from tests.holds.redis_stats import round_trips
from tests.support.clocks import HandClock as FakeClock

ALICE, BOB = 101, 102
OTHERS = range(10_000, 10_040)


async def test_holds_what_best_block_picks_for_the_same_hall(
    store: HoldStore, sessions: SessionFactory, inventory: SqlInventory
) -> None:
    generator = random.Random(14)
    for trial in range(12):
        # Given a hall with an aisle, some seats sold and some held by others at random
        show = await make_show(sessions, rows=4, seats_per_row=9, aisle_after=4)
        seats = show.seat_ids
        await store.seat_map(show.show_id, None)
        sold = generator.sample(seats, generator.randrange(0, 12))
        if sold:
            await store.mark_sold(show.show_id, sold, None)
        for user, seat in zip(OTHERS, generator.sample(sorted(set(seats) - set(sold)), 6), strict=False):
            await store.hold(show.show_id, user, [seat])
        taken = (await store.seat_map(show.show_id, ALICE)).unavailable
        count = 1 + trial % 4
        layout = await inventory.layout(show.show_id)
        assert layout is not None
        expected = best_block(layout, taken, count)
        # When Alice presses "best N" (a new Alice each hall: one user holds seats in few shows at once)
        outcome = await store.hold_best(show.show_id, ALICE + trial, count)
        # Then she holds exactly the block the pure ranking picks, and the map says they are hers
        if expected is None:
            assert outcome.result == HoldRefused(HoldRefusalReason.NO_SEATS_TOGETHER)
        else:
            assert isinstance(outcome.result, Hold) and outcome.result.seat_ids == tuple(sorted(expected))
            assert outcome.seat_map.seats_in(SeatState.YOURS) == tuple(sorted(expected))
        assert outcome.seat_map == await store.seat_map(show.show_id, ALICE + trial)


async def test_prefers_a_block_that_strands_no_single_seat(
    store: HoldStore, sessions: SessionFactory
) -> None:
    # Given one row of 9 seats: 1 and 5, 6 and 9 taken (the centre pair 3-4 would strand seat 2)
    show = await make_show(sessions, rows=1, seats_per_row=9)
    s = show.seat_ids
    await store.seat_map(show.show_id, None)
    await store.mark_sold(show.show_id, [s[0], s[4], s[5], s[8]], None)
    # When Alice asks for two
    outcome = await store.hold_best(show.show_id, ALICE, 2)
    # Then she gets 7-8, which leaves nobody alone
    assert isinstance(outcome.result, Hold) and outcome.result.seat_ids == (s[6], s[7])


async def test_own_seats_count_as_free_and_expired_holds_are_retired(
    store: HoldStore, sessions: SessionFactory, clock: FakeClock
) -> None:
    # Given a one-row hall of 4 where Alice holds the middle pair and Bob the first seat
    show = await make_show(sessions, rows=1, seats_per_row=4)
    s = show.seat_ids
    first = await store.hold(show.show_id, ALICE, [s[1], s[2]])
    assert isinstance(first, Hold)
    await store.hold(show.show_id, BOB, [s[0]])
    # When Alice asks for the best two again, she keeps her pair under a new hold
    again = await store.hold_best(show.show_id, ALICE, 2)
    assert isinstance(again.result, Hold) and again.result.seat_ids == first.seat_ids
    assert await store.hold_by_token(show.show_id, first.token) is None
    # And once Bob's hold has lapsed (not yet swept), Alice's best three take his seat
    clock.advance(301)
    await store.hold(show.show_id, ALICE, [s[3]])
    three = await store.hold_best(show.show_id, ALICE, 3)
    assert isinstance(three.result, Hold) and three.result.seat_ids == (s[0], s[1], s[2])
    assert await store.current_hold(show.show_id, BOB) is None


async def test_seats_kept_for_the_waitlist_are_not_chosen(store: HoldStore, sessions: SessionFactory) -> None:
    # Given a full one-row hall of 3 with Carol waiting, and Bob's hold released to the waitlist
    show = await make_show(sessions, rows=1, seats_per_row=3)
    s = show.seat_ids
    bobs = await store.hold(show.show_id, BOB, s)
    assert isinstance(bobs, Hold)
    await store.waitlist.join(show.show_id, 103, 3)
    await store.release(show.show_id, bobs.token)
    # When Alice asks for one seat, the freed seats are not hers to take
    outcome = await store.hold_best(show.show_id, ALICE, 1)
    assert outcome.result == HoldRefused(HoldRefusalReason.NO_SEATS_TOGETHER)
    assert await store.current_hold(show.show_id, 103) is not None


async def test_every_press_counts_as_a_hold_attempt_refused_or_not(
    redis: aioredis.Redis, inventory: SqlInventory, sessions: SessionFactory
) -> None:
    # Given a store allowing three hold attempts a minute, and a hall of 3 seats held by Bob
    store = HoldStore(redis, inventory, CollectingSink(), attempts_per_minute=3, max_seats=4)
    show = await make_show(sessions, rows=1, seats_per_row=3)
    assert isinstance(await store.hold(show.show_id, BOB, show.seat_ids), Hold)
    # When Alice asks for two seats side by side (none free), then for five (more than a booking
    # may have), then for one once Bob lets his seats go
    none_free = await store.hold_best(show.show_id, ALICE, 2)
    too_many = await store.hold_best(show.show_id, ALICE, 5)
    bobs = await store.current_hold(show.show_id, BOB)
    assert bobs is not None
    await store.release(show.show_id, bobs.token)
    one = await store.hold_best(show.show_id, ALICE, 1)
    # Then the refusals were counted like the hold: her fourth press is refused as too many, holding
    # nothing more
    assert none_free.result == HoldRefused(HoldRefusalReason.NO_SEATS_TOGETHER)
    assert too_many.result == HoldRefused(HoldRefusalReason.TOO_MANY_SEATS)
    assert isinstance(one.result, Hold)
    fourth = await store.hold_best(show.show_id, ALICE, 2)
    assert fourth.result == HoldRefused(HoldRefusalReason.RATE_LIMITED)
    assert await store.current_hold(show.show_id, ALICE) == one.result


async def test_one_round_trip_per_press_once_the_ranking_is_loaded(
    counted_store: HoldStore, counted_redis: aioredis.Redis, sessions: SessionFactory
) -> None:
    store, redis = counted_store, counted_redis
    # Given a show whose ranking for pairs was loaded by a first press
    show = await make_show(sessions)
    await store.hold_best(show.show_id, ALICE, 2)
    assert await redis.exists(ranking_key(show.show_id, 2))
    await redis.config_resetstat()
    # When ten presses of "best 2" run, granted and refused alike
    outcomes = [await store.hold_best(show.show_id, user, 2) for user in OTHERS[:10]]
    # Then each cost exactly one call to Redis, and a user's first hold of the show one more (it counts
    # the show among those the user holds, a key of the user's own), and the ranking went with the
    # show's cached inventory
    granted = sum(isinstance(outcome.result, Hold) for outcome in outcomes)
    assert granted == 10
    assert await round_trips(redis) == 10 + granted
    await store.forget_inventory(show.show_id)
    assert not await redis.exists(ranking_key(show.show_id, 2))


async def test_a_rush_fills_every_free_pair_with_one_call_per_press(
    store: HoldStore, redis: aioredis.Redis, sessions: SessionFactory
) -> None:
    # Given a hall of 10 pairs (5 rows of 2 + aisle + 2), its ranking loaded, the script cache flushed
    show = await make_show(sessions, rows=5, seats_per_row=4, aisle_after=2)
    first = (await store.hold_best(show.show_id, ALICE, 2)).result
    assert isinstance(first, Hold)
    await store.release(show.show_id, first.token)
    await redis.script_flush()
    # When 100 users press "best 2" at the same moment
    users = range(20_000, 20_100)
    outcomes = await asyncio.gather(*(store.hold_best(show.show_id, user, 2) for user in users))
    # Then exactly 10 hold a pair, no seat twice, the 90 others are told no pair is free
    held = [outcome.result for outcome in outcomes if isinstance(outcome.result, Hold)]
    assert len(held) == 10
    assert all(times == 1 for times in Counter(s for hold in held for s in hold.seat_ids).values())
    refused = [outcome.result for outcome in outcomes if not isinstance(outcome.result, Hold)]
    assert set(refused) == {HoldRefused(HoldRefusalReason.NO_SEATS_TOGETHER)}
    # And nobody tried twice: one hold attempt per press (refused ones too), as the rate limiter counted them
    attempts = [await redis.get(ShowKeys(show.show_id).attempts(user)) for user in users]
    assert [int(value or 0) for value in attempts] == [1] * len(users)
