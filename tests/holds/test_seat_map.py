"""The seat map: every seat's state as one user sees it, in at most two Redis round trips."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.holds.best_seats import stranded_seats
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.seat_map import SeatState
from booking_core.holds.store import Hold, HoldStore
from roles.redis_server import RedisEndpoint
from tests.factories import make_show
from tests.holds.redis_stats import Sends, counting_client, round_trips
from tests.holds.sales import sell_in_sql
from tests.support.clocks import HandClock

pytestmark = pytest.mark.on_a_redis_cluster_too

ANN, BEN, CAT = 301, 302, 303


async def test_every_state_as_the_user_sees_it(store: HoldStore, sessions: SessionFactory) -> None:
    # Given a row of 6: seat 1 sold, 2 held by Ann, 3 held by Ben, 5 freed while Cat waits for 2
    show = await make_show(sessions, rows=1, seats_per_row=6)
    s = show.seat_ids
    await sell_in_sql(sessions, show.show_id, [s[0]])
    ann = await store.hold(show.show_id, ANN, [s[1]])
    await store.hold(show.show_id, BEN, [s[2]])
    filler = [await store.hold(show.show_id, 900 + i, [s[i]]) for i in (3, 4, 5)]
    await store.waitlist.join(show.show_id, CAT, 2)
    freed = filler[1]
    assert isinstance(freed, Hold)
    await store.release(show.show_id, freed.token)
    # Then Ann sees each seat's state, and her own hold
    seat_map = await store.seat_map(show.show_id, ANN)
    assert [seat_map.states[seat] for seat in s] == [
        SeatState.SOLD,
        SeatState.YOURS,
        SeatState.HELD,
        SeatState.HELD,
        SeatState.OFFERED,
        SeatState.HELD,
    ]
    assert seat_map.your_hold == ann and seat_map.waiting == 1 and not seat_map.closed
    # And an anonymous view has no "yours"
    anonymous = await store.seat_map(show.show_id, None)
    assert anonymous.states[s[1]] == SeatState.HELD and anonymous.your_hold is None


async def test_one_round_trip_two_when_the_cache_is_rebuilt(
    counted_store: HoldStore, counted_redis: aioredis.Redis, sessions: SessionFactory
) -> None:
    store, redis = counted_store, counted_redis
    show = await make_show(sessions)
    await sell_in_sql(sessions, show.show_id, show.seat_ids[:3])
    await store.seat_map(show.show_id, ANN)  # the scripts are loaded in Redis from here on
    # A warm cache: one round trip
    await redis.config_resetstat()
    seat_map = await store.seat_map(show.show_id, ANN)
    assert await round_trips(redis) == 1
    assert seat_map.seats_in(SeatState.SOLD) == tuple(show.seat_ids[:3])
    # The sold-seat cache gone: rebuilt from SQL with one more round trip, and right
    await store.forget_sold_cache(show.show_id)
    await redis.config_resetstat()
    seat_map = await store.seat_map(show.show_id, ANN)
    assert await round_trips(redis) == 2
    assert seat_map.seats_in(SeatState.SOLD) == tuple(show.seat_ids[:3])


async def test_best_seats_button_and_stranding_warning(
    store: HoldStore, sessions: SessionFactory, inventory: SqlInventory
) -> None:
    # Given a 3 x 6 hall where Ann holds the two centre seats of the middle row
    show = await make_show(sessions, rows=3, seats_per_row=6)
    middle = show.seat_ids[6:12]
    await store.hold(show.show_id, ANN, [middle[2], middle[3]])
    layout = await inventory.layout(show.show_id)
    assert layout is not None
    # When Ann presses "best 2", her best pair is the one she holds
    ann = await store.hold_best(show.show_id, ANN, 2)
    assert isinstance(ann.result, Hold) and ann.result.seat_ids == (middle[2], middle[3])
    # And Ben's avoids it and strands nobody
    ben = await store.hold_best(show.show_id, BEN, 2)
    assert isinstance(ben.result, Hold) and not set(ben.result.seat_ids) & {middle[2], middle[3]}
    assert stranded_seats(layout, ben.seat_map.taken_by_others, ben.result.seat_ids) == ()
    # And a manual pick leaving one seat between it and Ann's is allowed, with a warning
    cat = await store.toggle_seat(show.show_id, CAT, middle[0])
    assert isinstance(cat.result, Hold)
    assert stranded_seats(layout, cat.seat_map.taken_by_others, [middle[0]]) == (middle[1],)


async def test_several_shows_maps_are_read_in_one_round_trip_loading_a_lost_inventory(
    redis_server: RedisEndpoint,
    inventory: SqlInventory,
    sink: CollectingSink,
    clock: HandClock,
    sessions: SessionFactory,
) -> None:
    sends = Sends()
    redis = counting_client(redis_server.url, sends)
    await redis.flushdb()
    store = HoldStore(redis, inventory, sink, clock=clock)
    # Given three shows: Ann holds a seat of the first, the second was never read (Redis has no
    # inventory of it), the third had one seat sold
    first, second, third = [await make_show(sessions, rows=1, seats_per_row=4) for _ in range(3)]
    await store.hold(first.show_id, ANN, [first.seat_ids[0]])
    await sell_in_sql(sessions, third.show_id, [third.seat_ids[3]])
    await store.seat_map(third.show_id, None)
    sends.count = 0
    # When their maps are read together, as Ann sees them
    maps = await store.seat_maps([first.show_id, second.show_id, third.show_id], ANN)
    # Then that was one round trip, and two more for the show whose inventory was lost (the script
    # asks for it, then is run again with it)
    assert sends.count == 1 + 2
    # And each map is the one `seat_map` gives, in the order asked
    assert [seat_map.show_id for seat_map in maps] == [first.show_id, second.show_id, third.show_id]
    for seat_map in maps:
        assert seat_map == await store.seat_map(seat_map.show_id, ANN)
    assert maps[0].seats_in(SeatState.YOURS) == (first.seat_ids[0],)
    assert maps[1].seats_in(SeatState.FREE) == tuple(second.seat_ids)
    assert maps[2].seats_in(SeatState.SOLD) == (third.seat_ids[3],)
    await redis.aclose()
