"""Seat holds: all or nothing, one selection per user, typed refusals, expiry, release, sale marks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from redis.crc import key_slot
from sqlalchemy import update

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink, HoldExpired
from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.seat_map import SeatState
from booking_core.holds.store import Hold, HoldStore
from booking_core.models import Show, utc_now
from tests.factories import make_show
from tests.holds.redis_stats import round_trips
from tests.holds.sales import sell_in_sql, unsell_in_sql
from tests.support.clocks import HandClock

pytestmark = pytest.mark.on_a_redis_cluster_too

ALICE, BOB, CAROL = 101, 102, 103


async def test_hold_is_all_or_nothing(store: HoldStore, sessions: SessionFactory) -> None:
    # Given Alice holds seats 1 and 2
    show = await make_show(sessions)
    s = show.seat_ids
    alice = await store.hold(show.show_id, ALICE, [s[0], s[1]])
    assert isinstance(alice, Hold)
    # When Bob asks for seats 2 and 3
    bob = await store.hold(show.show_id, BOB, [s[1], s[2]])
    # Then he is refused because of seat 2 only, and seat 3 stays free
    assert bob == HoldRefused(HoldRefusalReason.SEAT_TAKEN, (s[1],))
    seat_map = await store.seat_map(show.show_id, BOB)
    assert seat_map.states[s[2]] == SeatState.FREE
    assert isinstance(await store.hold(show.show_id, CAROL, [s[2]]), Hold)


async def test_hold_returns_token_and_expiry(
    store: HoldStore, sessions: SessionFactory, clock: HandClock
) -> None:
    show = await make_show(sessions)
    hold = await store.hold(show.show_id, ALICE, [show.seat_ids[3], show.seat_ids[1], show.seat_ids[3]])
    assert isinstance(hold, Hold)
    assert hold.seat_ids == tuple(sorted([show.seat_ids[1], show.seat_ids[3]]))
    assert abs(hold.expires_at.timestamp() - (clock.now + 300)) < 0.01
    assert len(hold.token) >= 20 and not hold.is_offer
    assert await store.hold_by_token(show.show_id, hold.token) == hold
    assert await store.current_hold(show.show_id, ALICE) == hold


async def test_second_hold_replaces_the_selection(store: HoldStore, sessions: SessionFactory) -> None:
    # Given Alice holds seats 1 and 2
    show = await make_show(sessions)
    s = show.seat_ids
    first = await store.hold(show.show_id, ALICE, [s[0], s[1]])
    assert isinstance(first, Hold)
    # When she holds seats 2 and 3 instead
    second = await store.hold(show.show_id, ALICE, [s[1], s[2]])
    # Then one hold remains, under a new token, and seat 1 is free for anyone
    assert isinstance(second, Hold) and second.token != first.token
    assert await store.hold_by_token(show.show_id, first.token) is None
    assert await store.current_hold(show.show_id, ALICE) == second
    assert isinstance(await store.hold(show.show_id, BOB, [s[0]]), Hold)
    assert await store.hold(show.show_id, BOB, [s[2]]) == HoldRefused(HoldRefusalReason.SEAT_TAKEN, (s[2],))


async def test_one_round_trip_per_hold_attempt(
    counted_store: HoldStore, counted_redis: aioredis.Redis, sessions: SessionFactory
) -> None:
    store, redis = counted_store, counted_redis
    # Given a show where Alice and Bob hold seats (the show's first hold also registered it with the
    # sweeper, and each user's first hold of it counted it among the shows they hold)
    show = await make_show(sessions)
    s = show.seat_ids
    await store.hold(show.show_id, ALICE, [s[0]])
    await store.hold(show.show_id, BOB, [s[1]])
    await redis.config_resetstat()
    # When ten attempts run, granted, refused and replacing ones (each counted by the rate limit)
    for i in range(1, 6):
        await store.hold(show.show_id, BOB, [s[i], s[i + 1]])
        await store.hold(show.show_id, CAROL, [s[0], s[i]])
    # Then each cost exactly one call to Redis
    assert await round_trips(redis) == 10


async def test_failed_replacement_keeps_the_old_selection(store: HoldStore, sessions: SessionFactory) -> None:
    show = await make_show(sessions)
    s = show.seat_ids
    first = await store.hold(show.show_id, ALICE, [s[0]])
    await store.hold(show.show_id, BOB, [s[5]])
    refused = await store.hold(show.show_id, ALICE, [s[4], s[5]])
    assert refused == HoldRefused(HoldRefusalReason.SEAT_TAKEN, (s[5],))
    assert await store.current_hold(show.show_id, ALICE) == first


async def test_refusals_about_seats(store: HoldStore, sessions: SessionFactory) -> None:
    # Given a show with two seats sold in SQL before Redis ever saw it, and another hall's show
    show = await make_show(sessions)
    other = await make_show(sessions)
    s = show.seat_ids
    await sell_in_sql(sessions, show.show_id, [s[0], s[1]])
    # Then each kind of bad request is refused with its own reason and the seats at fault
    assert await store.hold(show.show_id, ALICE, [s[1], s[2]]) == HoldRefused(
        HoldRefusalReason.SEAT_SOLD, (s[1],)
    )
    assert await store.hold(show.show_id, ALICE, [s[2], other.seat_ids[0]]) == HoldRefused(
        HoldRefusalReason.UNKNOWN_SEAT, (other.seat_ids[0],)
    )
    assert await store.hold(show.show_id, ALICE, s[2:13]) == HoldRefused(HoldRefusalReason.TOO_MANY_SEATS)
    assert isinstance(await store.hold(show.show_id, ALICE, s[2:12]), Hold)


async def test_refusals_about_the_show(store: HoldStore, sessions: SessionFactory) -> None:
    started = await make_show(sessions, starts_at=utc_now() - timedelta(minutes=1))
    withdrawn = await make_show(sessions)
    async with sessions() as session:
        await session.execute(update(Show).where(Show.id == withdrawn.show_id).values(on_sale=False))
        await session.commit()
    refused = HoldRefused(HoldRefusalReason.SHOW_STARTED)
    assert await store.hold(started.show_id, ALICE, [started.seat_ids[0]]) == refused
    assert await store.hold(withdrawn.show_id, ALICE, [withdrawn.seat_ids[0]]) == refused
    assert await store.hold(987_654, ALICE, [1]) == refused


async def test_show_start_is_checked_inside_redis(
    store: HoldStore, sessions: SessionFactory, clock: HandClock
) -> None:
    # Given a show starting in ten minutes, whose start Redis has cached
    show = await make_show(sessions, starts_at=utc_now() + timedelta(minutes=10))
    assert isinstance(await store.hold(show.show_id, ALICE, [show.seat_ids[0]]), Hold)
    # When the clock passes the start
    clock.advance(11 * 60)
    # Then holds are refused without asking SQL again
    refused = await store.hold(show.show_id, BOB, [show.seat_ids[1]])
    assert refused == HoldRefused(HoldRefusalReason.SHOW_STARTED)


async def test_rate_limit_stops_one_user_churning(
    redis: aioredis.Redis, inventory: SqlInventory, sink: CollectingSink, sessions: SessionFactory
) -> None:
    store = HoldStore(redis, inventory, sink, attempts_per_minute=5)
    show = await make_show(sessions)
    s = show.seat_ids
    for i in range(5):
        assert isinstance(await store.hold(show.show_id, ALICE, [s[i]]), Hold)
    assert await store.hold(show.show_id, ALICE, [s[7]]) == HoldRefused(HoldRefusalReason.RATE_LIMITED)
    # Another user is not affected, and the limited user's hold is untouched.
    assert isinstance(await store.hold(show.show_id, BOB, [s[7]]), Hold)
    current = await store.current_hold(show.show_id, ALICE)
    assert current is not None and current.seat_ids == (s[4],)


async def test_expired_hold_is_never_honoured_even_before_the_sweep(
    store: HoldStore, sessions: SessionFactory, clock: HandClock, sink: CollectingSink
) -> None:
    # Given Alice's hold, and time passing beyond its expiry, no sweep having run
    show = await make_show(sessions)
    s = show.seat_ids
    hold = await store.hold(show.show_id, ALICE, [s[0], s[1]])
    assert isinstance(hold, Hold)
    clock.advance(301)
    # Then it is gone for every reader, and Bob can take its seats
    assert await store.hold_by_token(show.show_id, hold.token) is None
    assert await store.current_hold(show.show_id, ALICE) is None
    assert (await store.seat_map(show.show_id, ALICE)).states[s[0]] == SeatState.FREE
    assert isinstance(await store.hold(show.show_id, BOB, [s[1]]), Hold)
    # And Alice is told, once, even though the sweeper never ran
    assert sink.events == [HoldExpired(show.show_id, ALICE, (s[0], s[1]))]
    assert await store.sweep() == 0
    assert len(sink.events) == 1


async def test_expiry_in_real_time(
    redis: aioredis.Redis, inventory: SqlInventory, sink: CollectingSink, sessions: SessionFactory
) -> None:
    # Given holds lasting two seconds on the real clock (time enough to look at one on a loaded machine)
    store = HoldStore(redis, inventory, sink, hold_seconds=2)
    show = await make_show(sessions)
    s = show.seat_ids
    hold = await store.hold(show.show_id, ALICE, [s[0], s[1]])
    assert isinstance(hold, Hold)
    assert await store.sweep() == 0
    assert await store.hold_by_token(show.show_id, hold.token) == hold
    # When its expiry time has passed
    await asyncio.sleep((hold.expires_at - datetime.now(UTC)).total_seconds() + 0.1)
    # Then the hold is not returned even before the sweep, and the sweep frees its seats
    assert await store.hold_by_token(show.show_id, hold.token) is None
    assert await store.sweep() == 1
    assert sink.events == [HoldExpired(show.show_id, ALICE, (s[0], s[1]))]
    seat_map = await store.seat_map(show.show_id, BOB)
    assert seat_map.states[s[0]] == seat_map.states[s[1]] == SeatState.FREE
    assert seat_map.seats_in(SeatState.FREE) == tuple(sorted(s))


async def test_sweep_frees_due_holds_of_every_show(
    store: HoldStore, sessions: SessionFactory, clock: HandClock, sink: CollectingSink
) -> None:
    one, two = await make_show(sessions), await make_show(sessions)
    await store.hold(one.show_id, ALICE, [one.seat_ids[0]])
    await store.hold(two.show_id, BOB, [two.seat_ids[0], two.seat_ids[1]])
    clock.advance(100)
    await store.hold(two.show_id, CAROL, [two.seat_ids[2]])  # due 100 s later than the others
    clock.advance(201)
    assert await store.sweep() == 2
    expired = {(e.show_id, e.user_id) for e in sink.events if isinstance(e, HoldExpired)}
    assert expired == {(one.show_id, ALICE), (two.show_id, BOB)} and len(sink.events) == 2
    assert await store.current_hold(two.show_id, CAROL) is not None
    clock.advance(100)
    assert await store.sweep() == 1
    assert await store.sweep() == 0


async def test_release_frees_the_seats_once(store: HoldStore, sessions: SessionFactory) -> None:
    show = await make_show(sessions)
    s = show.seat_ids
    hold = await store.hold(show.show_id, ALICE, [s[0], s[1]])
    assert isinstance(hold, Hold)
    assert await store.release(show.show_id, hold.token) == (s[0], s[1])
    assert await store.release(show.show_id, hold.token) == ()
    assert await store.current_hold(show.show_id, ALICE) is None
    assert isinstance(await store.hold(show.show_id, BOB, [s[0], s[1]]), Hold)


async def test_mark_sold_and_unsold(store: HoldStore, sessions: SessionFactory, sink: CollectingSink) -> None:
    # Given Alice holds three seats and pays for two of them (committed in SQL)
    show = await make_show(sessions)
    s = show.seat_ids
    hold = await store.hold(show.show_id, ALICE, [s[0], s[1], s[2]])
    assert isinstance(hold, Hold)
    await sell_in_sql(sessions, show.show_id, [s[0], s[1]])
    # When the sale is marked
    await store.mark_sold(show.show_id, [s[0], s[1]], hold.token)
    # Then the two are sold, the hold is gone, the third seat is free again, and nobody was told of expiry
    seat_map = await store.seat_map(show.show_id, BOB)
    assert seat_map.seats_in(SeatState.SOLD) == (s[0], s[1])
    assert seat_map.states[s[2]] == SeatState.FREE
    assert await store.hold_by_token(show.show_id, hold.token) is None
    assert await store.hold(show.show_id, BOB, [s[1]]) == HoldRefused(HoldRefusalReason.SEAT_SOLD, (s[1],))
    # When the sale is cancelled
    await unsell_in_sql(sessions, show.show_id, [s[0], s[1]])
    await store.mark_unsold(show.show_id, [s[0], s[1]])
    # Then the seats are free for anyone
    assert isinstance(await store.hold(show.show_id, BOB, [s[0], s[1]]), Hold)
    assert sink.events == []


async def test_late_payment_can_hold_the_same_seats_again(
    store: HoldStore, sessions: SessionFactory, clock: HandClock
) -> None:
    show = await make_show(sessions)
    s = show.seat_ids
    first = await store.hold(show.show_id, ALICE, [s[0], s[1]])
    assert isinstance(first, Hold)
    clock.advance(400)
    again = await store.hold(show.show_id, ALICE, [s[0], s[1]])
    assert isinstance(again, Hold) and again.token != first.token
    assert again.expires_at > first.expires_at


async def test_every_key_of_a_show_shares_one_cluster_slot(
    store: HoldStore, redis: aioredis.Redis, sessions: SessionFactory, clock: HandClock
) -> None:
    # Given a show with holds, sales, a rate counter and a waitlist
    show = await make_show(sessions, rows=1, seats_per_row=4)
    s = show.seat_ids
    await store.hold(show.show_id, ALICE, s[:3])
    await store.waitlist.join(show.show_id, BOB, 2)
    await sell_in_sql(sessions, show.show_id, [s[3]])
    await store.forget_sold_cache(show.show_id)
    await store.hold(show.show_id, CAROL, [s[3]])
    clock.advance(301)
    await store.sweep()
    # Then every key but the sweeper's and the reminders' indexes and each user's lists of held and
    # waited-for shows (a slot of their own) carries the show's hash tag
    keys = [key async for key in redis.scan_iter(match="*")]
    show_keys = [key for key in keys if f"{{show:{show.show_id}}}" in key]
    users_lists = ("}:held_shows", "}:waiting_shows")
    others = {key for key in keys if key not in show_keys and not key.endswith(users_lists)}
    assert others <= {"mq:{sweep}:due", "mq:{sweep}:running", "mq:{sweep}:remind", "mq:{sweep}:reminding"}
    assert len(show_keys) >= 8
    assert len({key_slot(key.encode()) for key in show_keys}) == 1


async def test_letting_go_frees_the_users_seats_and_answers_with_the_map(
    store: HoldStore, sessions: SessionFactory
) -> None:
    # Given Alice holding two seats and Bob one
    show = await make_show(sessions, rows=1, seats_per_row=4)
    s = show.seat_ids
    assert isinstance(await store.hold(show.show_id, ALICE, s[:2]), Hold)
    assert isinstance(await store.hold(show.show_id, BOB, [s[2]]), Hold)
    # When Alice lets go, and again with nothing held
    let_go, after = await store.let_go(show.show_id, ALICE)
    again, after_again = await store.let_go(show.show_id, ALICE)
    # Then her seats are free, Bob's still held, and the maps she was answered with say so
    assert let_go == tuple(s[:2]) and again == ()
    assert await store.current_hold(show.show_id, ALICE) is None
    for seat_map in (after, after_again, await store.seat_map(show.show_id, ALICE)):
        assert seat_map.seats_in(SeatState.FREE) == (s[0], s[1], s[3])
        assert seat_map.seats_in(SeatState.HELD) == (s[2],)
