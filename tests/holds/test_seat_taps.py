"""A tap on one seat, in one script call (toggle.lua): the selection grows or shrinks by that seat, held
with every rule of a hold, and the reply carries the fresh seat map."""

from __future__ import annotations

import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.seat_map import SeatState
from booking_core.holds.store import Hold, HoldStore
from tests.factories import make_show
from tests.holds.redis_stats import round_trips

ALICE, BOB = 101, 102


async def test_taps_add_and_take_out_seats_one_round_trip_each(
    counted_store: HoldStore, counted_redis: aioredis.Redis, sessions: SessionFactory
) -> None:
    store, redis = counted_store, counted_redis
    show = await make_show(sessions)
    s = show.seat_ids
    # Given a show with Bob's tap (which loaded its inventory and the script, and registered the show
    # with the sweeper)
    await store.toggle_seat(show.show_id, BOB, s[-1])
    await redis.config_resetstat()
    # When Alice taps two seats, then the first again
    first = await store.toggle_seat(show.show_id, ALICE, s[0])
    second = await store.toggle_seat(show.show_id, ALICE, s[1])
    third = await store.toggle_seat(show.show_id, ALICE, s[0])
    # Then her hold grew and shrank, each reply's map already says so, each tap one call to Redis (and
    # her first hold of the show one more: it counts the show among those she holds)
    assert isinstance(first.result, Hold) and first.result.seat_ids == (s[0],)
    assert isinstance(second.result, Hold) and second.result.seat_ids == (s[0], s[1])
    assert isinstance(third.result, Hold) and third.result.seat_ids == (s[1],)
    assert third.seat_map.seats_in(SeatState.YOURS) == (s[1],)
    assert await round_trips(redis) == 3 + 1
    # And tapping her last seat lets the hold go
    last = await store.toggle_seat(show.show_id, ALICE, s[1])
    assert last.result is None and last.seat_map.seats_in(SeatState.YOURS) == ()
    assert await store.current_hold(show.show_id, ALICE) is None


async def test_a_tap_on_a_taken_seat_is_refused_and_keeps_the_selection(
    store: HoldStore, sessions: SessionFactory
) -> None:
    show = await make_show(sessions)
    s = show.seat_ids
    mine = await store.hold(show.show_id, ALICE, [s[0]])
    await store.hold(show.show_id, BOB, [s[1]])
    outcome = await store.toggle_seat(show.show_id, ALICE, s[1])
    assert outcome.result == HoldRefused(HoldRefusalReason.SEAT_TAKEN, (s[1],))
    assert outcome.seat_map.states[s[1]] == SeatState.HELD
    assert await store.current_hold(show.show_id, ALICE) == mine


async def test_a_whole_selection_is_held_in_one_round_trip(
    counted_store: HoldStore, counted_redis: aioredis.Redis, sessions: SessionFactory
) -> None:
    show = await make_show(sessions)
    first, second, bobs = show.seat_ids[0], show.seat_ids[1], show.seat_ids[-1]
    # Given Bob holds the last seat and Alice one seat (her first hold of the show is counted once)
    await counted_store.choose(show.show_id, BOB, [bobs])
    await counted_store.choose(show.show_id, ALICE, [show.seat_ids[5]])
    await counted_redis.config_resetstat()
    # When Alice's page sends her new selection, then one with Bob's seat in it
    chosen = await counted_store.choose(show.show_id, ALICE, [first, second])
    refused = await counted_store.choose(show.show_id, ALICE, [first, bobs])
    # Then the first is held and the second refused (her selection kept), each one call to Redis
    assert isinstance(chosen, Hold) and chosen.seat_ids == (first, second)
    assert refused == HoldRefused(HoldRefusalReason.SEAT_TAKEN, (bobs,))
    assert await round_trips(counted_redis) == 2
    seat_map = await counted_store.seat_map(show.show_id, ALICE)
    assert seat_map.seats_in(SeatState.YOURS) == (first, second)
    assert seat_map.states[bobs] == SeatState.HELD and seat_map.states[show.seat_ids[5]] == SeatState.FREE
    # And an empty selection lets her seats go, in one script call too
    await counted_redis.config_resetstat()
    assert await counted_store.choose(show.show_id, ALICE, []) is None
    assert await round_trips(counted_redis) == 1
    assert await counted_store.current_hold(show.show_id, ALICE) is None
    assert (await counted_store.seat_map(show.show_id, ALICE)).states[first] == SeatState.FREE
