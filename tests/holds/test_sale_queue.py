"""The on-sale queue against real Redis and SQL, admitted by the real worker pass (`admit_queues_once`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink, QueueMoved, QueueSoldOut, TurnCame
from booking_core.holds.errors import HoldRefusalReason, HoldRefused, JoinRefusal
from booking_core.holds.errors import JoinRefused as WaitlistRefused
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.sale_queue import Joined, JoinRefused, QueueSpot, shuffled, wait_minutes
from booking_core.holds.sale_queue_audit import audit_log, record_step
from booking_core.holds.store import Hold, HoldStore
from booking_core.redis_keys import ShowKeys
from roles.redis_server import RedisEndpoint
from tests.factories import ShowFixture, make_show
from tests.holds.redis_stats import Sends, counting_client
from tests.holds.sales import sell_in_sql
from tests.support.clocks import HandClock
from workers.periodic import admit_queues_once

pytestmark = pytest.mark.on_a_redis_cluster_too

OPENS_IN = 600.0  # seconds from the test's start to the sale


def at(clock: HandClock) -> datetime:
    """The hand clock's now as a datetime (the worker pass picks shows by it)."""
    return datetime.fromtimestamp(clock.now, tz=UTC)


async def premiere(
    sessions: SessionFactory, clock: HandClock, *, seats: int = 8, queue: bool = True
) -> ShowFixture:
    """A one-row show going on sale OPENS_IN seconds from now on the hand clock."""
    opens = at(clock) + timedelta(seconds=OPENS_IN)
    return await make_show(sessions, rows=1, seats_per_row=seats, on_sale_at=opens, sale_queue=queue)


def queue_store(
    redis: aioredis.Redis,
    sessions: SessionFactory,
    sink: CollectingSink,
    clock: HandClock,
    *,
    queue_turns: int = 2,
    queue_turns_per_user: int = 1,
    queue_admissions_per_second: float | None = None,
) -> HoldStore:
    """A hold store whose queue turns last 60 s."""
    return HoldStore(
        redis,
        SqlInventory(sessions),
        sink,
        clock=clock,
        attempts_per_minute=10**6,
        queue_turns=queue_turns,
        queue_turn_seconds=60,
        queue_turns_per_user=queue_turns_per_user,
        queue_admissions_per_second=queue_admissions_per_second,
    )


async def admit(store: HoldStore, sessions: SessionFactory, clock: HandClock) -> int:
    """One run of the workers' periodic queue pass at the hand clock's time."""
    return await admit_queues_once(sessions, store.sale_queue, at(clock))


async def five_queued_at_the_opening(
    store: HoldStore, sessions: SessionFactory, clock: HandClock
) -> ShowFixture:
    """A premiere that people 1..5 joined (one seat each), the hand clock at its on-sale moment."""
    show = await premiere(sessions, clock)
    for user in range(1, 6):
        await store.sale_queue.join(show.show_id, user, 1)
    clock.advance(OPENS_IN)
    return show


def turns(sink: CollectingSink) -> list[int]:
    return [event.user_id for event in sink.events if isinstance(event, TurnCame)]


async def test_no_seat_can_be_held_before_the_sale_opens(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    # Given a show on sale in ten minutes, without a queue
    store = queue_store(redis, sessions, sink, clock)
    show = await premiere(sessions, clock, queue=False)
    # when someone tries to hold a seat now, they are refused and told why
    refused = await store.hold(show.show_id, 1, [show.seat_ids[0]])
    assert refused == HoldRefused(HoldRefusalReason.NOT_ON_SALE_YET)
    outcome = await store.hold_best(show.show_id, 1, 2)
    assert outcome.result == HoldRefused(HoldRefusalReason.NOT_ON_SALE_YET)
    # and once the sale opens the same hold is granted (no queue: first come, first served).
    clock.advance(OPENS_IN)
    assert isinstance(await store.hold(show.show_id, 1, [show.seat_ids[0]]), Hold)


async def test_only_admitted_people_hold_seats_while_the_queue_runs(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    store = queue_store(redis, sessions, sink, clock, queue_turns=1)
    show = await premiere(sessions, clock)
    for user in (1, 2):
        assert isinstance(await store.sale_queue.join(show.show_id, user, 2), Joined)
    # Given the sale has opened and the pass admitted one person
    clock.advance(OPENS_IN)
    assert await admit(store, sessions, clock) == 1
    first, second = turns(sink)[0], ({1, 2} - {turns(sink)[0]}).pop()
    # the one waiting is refused, whichever way they press,
    assert await store.hold(show.show_id, second, [show.seat_ids[0]]) == HoldRefused(
        HoldRefusalReason.NOT_YOUR_TURN
    )
    assert (await store.toggle_seat(show.show_id, second, show.seat_ids[0])).result == HoldRefused(
        HoldRefusalReason.NOT_YOUR_TURN
    )
    # so is someone who never queued,
    assert await store.hold(show.show_id, 99, [show.seat_ids[0]]) == HoldRefused(
        HoldRefusalReason.NOT_YOUR_TURN
    )
    # the admitted one holds seats, and keeps them (re-picking too) after the window:
    assert isinstance((await store.hold_best(show.show_id, first, 2)).result, Hold)
    clock.advance(61)
    assert isinstance(await store.hold(show.show_id, first, [show.seat_ids[0]]), Hold)
    # the lapsed window passed the turn to the second person.
    assert await admit(store, sessions, clock) == 1
    assert turns(sink) == [first, second]
    assert isinstance(await store.hold(show.show_id, second, [show.seat_ids[5]]), Hold)


async def test_one_place_per_user_however_often_they_join(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    store = queue_store(redis, sessions, sink, clock)
    show = await premiere(sessions, clock)
    assert await store.sale_queue.join(show.show_id, 1, 2) == Joined(True, None)
    assert await store.sale_queue.join(show.show_id, 1, 3) == Joined(False, None)
    assert await store.sale_queue.join(show.show_id, 2, 2) == Joined(True, None)
    clock.advance(OPENS_IN)
    await store.sale_queue.admit(show.show_id)
    # Everyone admitted once, and joining again after the turn came only repeats the turn.
    assert sorted(turns(sink)) == [1, 2]
    again = await store.sale_queue.join(show.show_id, 1, 2)
    assert isinstance(again, Joined) and not again.joined and again.turn_ends_ms is not None
    for _ in range(3):
        clock.advance(61)
        await store.sale_queue.admit(show.show_id)
    assert sorted(turns(sink)) == [1, 2]


async def test_the_opening_draw_is_recorded_and_later_arrivals_follow_in_order(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    store = queue_store(redis, sessions, sink, clock, queue_turns=1)
    show = await premiere(sessions, clock, seats=30)
    early = list(range(100, 120))
    for user in early:
        await store.sale_queue.join(show.show_id, user, 1)
    clock.advance(OPENS_IN)
    await admit(store, sessions, clock)
    # Given the queue opened and admitted its first person, later arrivals line up in the order they
    # came: 20th, 21st and 22nd from the front (places 21, 22, 23 of the queue)
    for position, user in enumerate((500, 400, 600), start=20):
        assert await store.sale_queue.join(show.show_id, user, 1) == Joined(True, position)
    # The audit log holds the seed and the drawn order, which the seed reproduces from the arrival order,
    log = await audit_log(sessions, show.show_id)
    opened = log[0]
    assert opened.kind == "opened" and opened.seed is not None
    drawn = opened.detail.split(",")
    assert drawn == shuffled([str(user) for user in early], opened.seed)
    assert drawn != [str(user) for user in early]
    # and admissions go in that order, then the late arrivals in theirs, each one recorded.
    for _ in range(22):
        clock.advance(61)
        await admit(store, sessions, clock)
    assert turns(sink) == [int(user) for user in drawn] + [500, 400, 600]
    admitted = [
        (row.user_id, row.position)
        for row in await audit_log(sessions, show.show_id)
        if row.kind == "admitted"
    ]
    assert admitted == [(user, place) for place, user in enumerate(turns(sink), start=1)]
    # The queue emptied: the show sells normally again.
    assert isinstance(await store.hold(show.show_id, 999, [show.seat_ids[-1]]), Hold)


async def test_late_arrivals_before_the_opening_pass_are_not_drawn(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    store = queue_store(redis, sessions, sink, clock, queue_turns=10)
    show = await premiere(sessions, clock)
    await store.sale_queue.join(show.show_id, 1, 1)
    clock.advance(OPENS_IN)
    # Arriving after on_sale_at but before any worker opened the queue: behind the drawn, in arrival order.
    for user in (7, 5, 6):
        await store.sale_queue.join(show.show_id, user, 1)
    await admit(store, sessions, clock)
    assert turns(sink) == [1, 7, 5, 6]


async def test_concurrency_cap_and_window_lapse(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    store = queue_store(redis, sessions, sink, clock, queue_turns=2)
    show = await five_queued_at_the_opening(store, sessions, clock)
    assert await admit(store, sessions, clock) == 2
    clock.advance(59)
    assert await admit(store, sessions, clock) == 0  # both windows still open
    spot = await store.sale_queue.spot(show.show_id, turns(sink)[0])
    assert spot.admitted and spot.turn_ends_ms is not None
    clock.advance(2)
    assert await admit(store, sessions, clock) == 2  # both lapsed unused: the next two
    # A lapsed turn holds nothing any more.
    assert await store.hold(show.show_id, turns(sink)[0], [show.seat_ids[0]]) == HoldRefused(
        HoldRefusalReason.NOT_YOUR_TURN
    )


async def test_racing_steps_admit_no_faster_than_the_admission_rate(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    # Given 40 people queued for 50 turns at once, but admitted at most 2 a second
    store = queue_store(redis, sessions, sink, clock, queue_turns=50, queue_admissions_per_second=2)
    show = await premiere(sessions, clock, seats=60)
    for user in range(1, 41):
        await store.sale_queue.join(show.show_id, user, 1)
    clock.advance(OPENS_IN)

    async def six_steps_at_once() -> int:
        reports = await asyncio.gather(*(store.sale_queue.admit(show.show_id) for _ in range(6)))
        return sum(len(report.admitted) for report in reports)

    # when six workers' steps race at the opening, then half a second on, then a fifth of a second on,
    assert await six_steps_at_once() == 2
    clock.advance(0.5)
    assert await six_steps_at_once() == 1
    clock.advance(0.2)
    assert await six_steps_at_once() == 0
    # and after a quiet spell no burst beyond one second's worth follows.
    clock.advance(10)
    assert await six_steps_at_once() == 2
    assert len(turns(sink)) == len(set(turns(sink))) == 5


async def test_a_sell_out_tells_everyone_queued_with_their_party_size(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    store = queue_store(redis, sessions, sink, clock, queue_turns=1)
    show = await premiere(sessions, clock, seats=2)
    for user, party in ((1, 2), (2, 3), (3, 1)):
        await store.sale_queue.join(show.show_id, user, party)
    clock.advance(OPENS_IN)
    await admit(store, sessions, clock)
    first = turns(sink)[0]
    # Given the first person admitted buys every seat
    hold = await store.hold(show.show_id, first, show.seat_ids)
    assert isinstance(hold, Hold)
    await sell_in_sql(sessions, show.show_id, show.seat_ids)
    await store.mark_sold(show.show_id, show.seat_ids, hold.token)
    # when the pass runs, everyone still queued is told at once, with their party size,
    await admit(store, sessions, clock)
    parties = {1: 2, 2: 3, 3: 1}
    told = [(e.user_id, e.party) for e in sink.events if isinstance(e, QueueSoldOut)]
    assert sorted(told) == sorted((user, parties[user]) for user in parties if user != first)
    # the log says so, and nobody is told twice.
    assert [row.kind for row in await audit_log(sessions, show.show_id)][-1] == "sold_out"
    await admit(store, sessions, clock)
    assert len([e for e in sink.events if isinstance(e, QueueSoldOut)]) == 2
    assert await store.sale_queue.join(show.show_id, 9, 1) == JoinRefused("sold_out")


async def test_turns_across_shows_are_capped_per_user(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    store = queue_store(redis, sessions, sink, clock, queue_turns=1, queue_turns_per_user=1)
    shows = [await premiere(sessions, clock), await premiere(sessions, clock)]
    # Ann queues alone in the first show, and before Ben in the second
    await store.sale_queue.join(shows[0].show_id, 1, 1)
    clock.advance(OPENS_IN)
    await store.sale_queue.join(shows[1].show_id, 1, 1)
    await store.sale_queue.join(shows[1].show_id, 2, 1)
    await admit(store, sessions, clock)
    # She has one turn at a time: Ben goes ahead in the second show, she keeps her place,
    by_show = [(e.show_id, e.user_id) for e in sink.events if isinstance(e, TurnCame)]
    assert sorted(by_show) == sorted([(shows[0].show_id, 1), (shows[1].show_id, 2)])
    spot = await store.sale_queue.spot(shows[1].show_id, 1)
    assert spot.queued and spot.position == 1
    # and gets her turn there once the first one is over.
    clock.advance(61)
    await admit(store, sessions, clock)
    assert (shows[1].show_id, 1) in [(e.show_id, e.user_id) for e in sink.events if isinstance(e, TurnCame)]


async def test_a_restart_of_every_process_loses_no_place(
    redis_endpoint: RedisEndpoint, sessions: SessionFactory, clock: HandClock
) -> None:
    before = redis_endpoint.client()
    await before.flushdb()
    first_sink = CollectingSink()
    store = queue_store(before, sessions, first_sink, clock, queue_turns=3)
    show = await premiere(sessions, clock)
    for user in range(1, 11):
        await store.sale_queue.join(show.show_id, user, 1)
    clock.advance(OPENS_IN)
    await admit(store, sessions, clock)
    places = {user: (await store.sale_queue.spot(show.show_id, user)).position for user in range(1, 11)}
    await before.aclose()
    # Given every process stopped and new ones started (new clients, new stores: no memory carried over)
    after = redis_endpoint.client()
    second_sink = CollectingSink()
    restarted = queue_store(after, sessions, second_sink, clock, queue_turns=3)
    try:
        assert {u: (await restarted.sale_queue.spot(show.show_id, u)).position for u in places} == places
        # (the seven left, three turns at a time: three passes a minute apart)
        for _ in range(3):
            clock.advance(61)
            await admit(restarted, sessions, clock)
        # the queue goes on where it stopped: the rest admitted in their places, nobody twice.
        waiting = sorted((place, user) for user, place in places.items() if place is not None)
        assert turns(second_sink)[: len(waiting)] == [user for _place, user in waiting]
        assert sorted(turns(first_sink) + turns(second_sink)) == list(range(1, 11))
    finally:
        await after.aclose()


async def test_an_admission_pass_costs_a_few_round_trips_however_many_it_admits(
    redis_server: RedisEndpoint, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    # Given a client that counts its round trips, and 60 people queued for 20 turns at a time
    sends = Sends()
    client = counting_client(redis_server.url, sends)
    await client.flushdb()
    store = queue_store(client, sessions, sink, clock, queue_turns=20)
    show = await premiere(sessions, clock, seats=60)
    for user in range(1, 61):
        await store.sale_queue.join(show.show_id, user, 1)
    clock.advance(OPENS_IN)
    await admit(store, sessions, clock)  # the opening (it loads the scripts and the inventory)
    # when the next step admits the next 20 (their per-user claims taken and settled),
    clock.advance(61)
    before = sends.count
    try:
        report = await store.sale_queue.admit(show.show_id)
    finally:
        await client.aclose()
    # it made five round trips, as its report says: read, claim, admit, settle the claims, refresh places.
    assert len(report.admitted) == 20
    assert sends.count - before == report.redis_calls == 5


async def test_a_pass_after_the_scripts_were_flushed_still_admits(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    store = queue_store(redis, sessions, sink, clock, queue_turns=2)
    await five_queued_at_the_opening(store, sessions, clock)
    await admit(store, sessions, clock)
    # Given Redis forgot every script (a restart, a failover, SCRIPT FLUSH) between two passes
    await redis.script_flush()
    clock.advance(61)
    # the pipelined turn claims load theirs again, and the next two are admitted.
    assert await admit(store, sessions, clock) == 2
    assert len(set(turns(sink))) == 4


def test_the_wait_estimate_uses_what_the_queue_has_done() -> None:
    spot = QueueSpot("open", 0, True, 101, None, False, served=0, opened_ms=0, open_turns=10)
    # Nobody admitted yet: every turn assumed to run its whole window (10 per 3 minutes): 30 minutes.
    assert wait_minutes(spot, now_ms=1_000, turns_cap=10, turn_seconds=180) == 30
    # At most one admission every 2 s: 100 ahead take at least 200 s, said as 4 minutes.
    assert wait_minutes(spot, now_ms=1_000, turns_cap=1_000, turn_seconds=180, admissions_per_second=0.5) == 4
    # 400 admitted in the first 10 minutes: 100 ahead take about 2.5 minutes, said as 3.
    busy = QueueSpot("open", 0, True, 101, None, False, served=400, opened_ms=0, open_turns=10)
    assert wait_minutes(busy, now_ms=600_000, turns_cap=10, turn_seconds=180) == 3
    assert (
        wait_minutes(
            QueueSpot(None, 0, True, None, None, False, 0, None, 0), now_ms=0, turns_cap=1, turn_seconds=1
        )
        is None
    )


async def test_queue_keys_live_in_the_shows_slot() -> None:
    keys = ShowKeys(7)
    assert all(key.startswith(keys.tag) for key in keys.sale_queue())


async def test_places_are_refreshed_at_most_once_a_minute_each(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    store = queue_store(redis, sessions, sink, clock, queue_turns=1)
    show = await premiere(sessions, clock)
    for user in (1, 2, 3):
        await store.sale_queue.join(show.show_id, user, 1)
    clock.advance(OPENS_IN)

    def moved() -> list[tuple[int, int]]:
        return sorted((e.user_id, e.position) for e in sink.events if isinstance(e, QueueMoved))

    # The opening pass admits one and tells the two still queued their drawn places (1 and 2),
    await admit(store, sessions, clock)
    waiting = [user for user in (1, 2, 3) if user not in turns(sink)]
    assert sorted(user for user, _ in moved()) == waiting
    assert sorted(position for _, position in moved()) == [1, 2]
    # however many passes run within the next minute, nobody is told again,
    for _ in range(3):
        clock.advance(15)
        await admit(store, sessions, clock)
    assert len(moved()) == 2
    # and a minute on (the first turn lapsed, so the next person was admitted) the one still queued is
    # told their new place.
    clock.advance(16)
    await admit(store, sessions, clock)
    still = next(user for user in waiting if user not in turns(sink))
    assert (still, 1) in moved()
    assert len(moved()) == 3


async def test_the_waitlist_is_no_way_around_the_queue(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    store = queue_store(redis, sessions, sink, clock, queue_turns=1)
    show = await premiere(sessions, clock)
    for user in (1, 2):
        await store.sale_queue.join(show.show_id, user, 1)
    # Before the sale, and while the queue runs to anyone without a turn, joining the waitlist is refused
    assert await store.waitlist.join(show.show_id, 3, 1) == WaitlistRefused(JoinRefusal.NOT_ON_SALE_YET)
    clock.advance(OPENS_IN)
    await admit(store, sessions, clock)
    waiting = ({1, 2} - set(turns(sink))).pop()
    assert await store.waitlist.join(show.show_id, waiting, 1) == WaitlistRefused(JoinRefusal.NOT_YOUR_TURN)
    # (the one whose turn it is may: they could hold seats as well).
    assert not isinstance(await store.waitlist.join(show.show_id, turns(sink)[0], 1), WaitlistRefused)


async def test_an_opening_whose_audit_row_was_lost_is_recorded_by_a_later_pass(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    store = queue_store(redis, sessions, sink, clock, queue_turns=1)
    show = await five_queued_at_the_opening(store, sessions, clock)
    # Given a worker that opened the queue in Redis and died before writing the opening's audit row
    died = await store.sale_queue.admit(show.show_id)
    assert died.opened is not None and died.seed is not None
    assert await audit_log(sessions, show.show_id) == []
    # when the workers' pass runs later, twice,
    clock.advance(61)
    await admit(store, sessions, clock)
    clock.advance(61)
    await admit(store, sessions, clock)
    # then the opening is in the log once, with the seed and the order the dead worker drew.
    opened = [row for row in await audit_log(sessions, show.show_id) if row.kind == "opened"]
    assert [(row.seed, row.detail) for row in opened] == [(died.seed, ",".join(died.opened))]


async def test_a_queue_opened_by_the_pass_is_logged_once(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    store = queue_store(redis, sessions, sink, clock, queue_turns=1)
    show = await five_queued_at_the_opening(store, sessions, clock)
    for _ in range(4):
        await admit(store, sessions, clock)
        clock.advance(61)
    assert [row.kind for row in await audit_log(sessions, show.show_id)].count("opened") == 1


async def test_passes_racing_to_record_one_opening_write_one_row(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    store = queue_store(redis, sessions, sink, clock, queue_turns=1)
    show = await five_queued_at_the_opening(store, sessions, clock)
    # Given an opening whose audit row is not written yet
    opening = await store.sale_queue.admit(show.show_id)
    assert opening.seed is not None
    # when its opener and passes repairing it all write it at once,
    await asyncio.gather(*(record_step(sessions, show.show_id, opening) for _ in range(6)))
    # then the log holds it once, and each writer's admission rows all the same.
    log = await audit_log(sessions, show.show_id)
    assert [(row.kind, row.seed) for row in log if row.kind == "opened"] == [("opened", opening.seed)]
    assert len([row for row in log if row.kind == "admitted"]) == 6
