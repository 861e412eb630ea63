"""The per-user turn cap across shows under racing workers: many queue passes of two shows at once, the
clock moving under them, and nobody ever has turns open in more shows than the cap allows."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from tests.holds.test_sale_queue import OPENS_IN, premiere, queue_store
from tests.support.clocks import HandClock

pytestmark = pytest.mark.on_a_redis_cluster_too

PEOPLE = 40
WORKERS_PER_SHOW = 6
WINDOW_MS = 60_000
TICKS = 400


def overlapping(windows: list[tuple[int, int]]) -> bool:
    """Whether any two turn windows (show, end ms) of one person in different shows were open together."""
    spans = sorted((ends - WINDOW_MS, ends, show) for show, ends in windows)
    return any(
        later_start < earlier_end and later_show != earlier_show
        for i, (_s, earlier_end, earlier_show) in enumerate(spans)
        for later_start, _e, later_show in spans[i + 1 :]
    )


async def test_racing_passes_never_give_anyone_turns_in_two_shows_at_once(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    # Given 40 people queued in the same order (arriving after the sale opened) in both of two premieres,
    # one turn per person across shows, 3 turns a show: each show's front waits on the other's turns
    store = queue_store(redis, sessions, sink, clock, queue_turns=3, queue_turns_per_user=1)
    shows = [(await premiere(sessions, clock, seats=60)).show_id for _ in range(2)]
    clock.advance(OPENS_IN)
    for user in range(1, PEOPLE + 1):
        for show in shows:
            await store.sale_queue.join(show, user, 1)
    windows: dict[int, list[tuple[int, int]]] = {}

    ticking = True

    async def worker(show: int) -> None:
        while ticking:
            report = await store.sale_queue.admit(show)
            for user, _place, ends in report.admitted:
                windows.setdefault(user, []).append((show, ends))

    async def ticker() -> None:
        nonlocal ticking
        # 3 s of the hand clock every ~2 ms, moving in the middle of admission steps (a step slower than
        # CLAIM_SLACK_MS of it admits nobody, so the clock must not outrun the steps by much).
        for _ in range(TICKS):
            clock.advance(3)
            await asyncio.sleep(0.002)
        ticking = False

    # when six workers per show run the queue pass at once while windows keep lapsing
    await asyncio.gather(ticker(), *(worker(show) for show in shows for _ in range(WORKERS_PER_SHOW)))
    # then people were admitted in both shows, yet nobody ever had two turns open at the same moment.
    assert {show for spans in windows.values() for show, _ends in spans} == set(shows)
    assert [user for user, spans in windows.items() if overlapping(spans)] == []


async def test_a_step_beaten_to_its_people_leaves_them_free_for_other_shows_once_their_turn_ends(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    # Given 8 people queued in two premieres, one turn per person across shows, 8 turns a show
    store = queue_store(redis, sessions, sink, clock, queue_turns=8, queue_turns_per_user=1)
    first, second = [(await premiere(sessions, clock, seats=20)).show_id for _ in range(2)]
    clock.advance(OPENS_IN)
    for user in range(1, 9):
        await store.sale_queue.join(first, user, 1)
        await store.sale_queue.join(second, user, 1)
    # when six workers run the first show's step at once (all claim the same people; one admits them)
    reports = await asyncio.gather(*(store.sale_queue.admit(first) for _ in range(WORKERS_PER_SHOW)))
    assert sorted(user for report in reports for user, _place, _ends in report.admitted) == list(range(1, 9))
    # and everyone's turn there lapses,
    clock.advance(WINDOW_MS / 1000 + 1)
    # then the second show's next step admits all of them: no claim of a beaten step outlives their turn.
    assert len((await store.sale_queue.admit(second)).admitted) == 8
