"""Benchmark: a premiere's on-sale queue. 5,000 people join before the sale opens, it opens, workers admit.

    python -m benchmarks.onsale    # embedded Redis, SQLite in a temp dir; ONSALE_PEOPLE=5000 ONSALE_RUSH=100

1. Admission: 5,000 people join a queued show of the demo's biggest hall; the clock (a hand clock)
   reaches on_sale_at and the workers' pass (`workers.periodic.admit_queues_once`, SQL audit rows
   included) runs until everyone was admitted, SALE_QUEUE_TURNS (50) at a time, each window lapsing
   unused before the next pass (the fastest the queue can move; no SALE_QUEUE_ADMISSIONS_PER_SECOND, so
   this is what the workers could sustain). Measured: client round trips to Redis per admission (the
   pass's own count: a pipeline is one), commands Redis executed per admission (INFO commandstats, inner
   script commands included), and admissions per second of wall time the pass sustains.
2. The press for admitted people: the rush benchmark's machinery (benchmarks/rush.py: the whole bot on
   the Telegram sandbox, everyone pressing "✨2" at once) with ONSALE_RUSH people admitted to a queued
   show, against the same number of people on a show of the same hall without a queue (the baseline),
   in the same run. The queue adds its turn check to the hold script.
RESULT onsale_people=N admissions_per_s audited_admissions_per_s (the workers' whole pass, SQL audit rows
       included) redis_round_trips_per_admission redis_commands_per_admission rush=N
       queue_press_p99_ms plain_press_p99_ms ratio (plain p99 / queue p99; 1.0 = the queue costs nothing)
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis.asyncio as aioredis

from benchmarks.bot import TOKEN, fresh_stores
from benchmarks.rush import (
    NO_GLOBAL_LIMIT,
    OPENING_AT_ONCE,
    PER_CHAT_BURST,
    PER_CHAT_RATE,
    open_seat_map,
    percentile,
    press_all,
    rush_shows,
)
from booking_core.catalogue import seed_demo
from booking_core.catalogue.on_sale import set_on_sale
from booking_core.events import CollectingSink
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.store import HoldStore
from booking_core.models import Show, utc_now
from bot.app import build_application
from bot.notifications import TelegramNotifier
from bot.running import running_bot
from roles.resources import Core, open_core
from sandbox.telegram import FloodLimits, TelegramSandbox, start_telegram_sandbox
from tests.support.clocks import HandClock
from tests.support.settings import stand_settings
from workers.periodic import admit_queues_once

PEOPLE = int(os.environ.get("ONSALE_PEOPLE", "5000"))
RUSH = int(os.environ.get("ONSALE_RUSH", "100"))
TURNS, TURN_SECONDS = 50, 60
JOINING_AT_ONCE = 200
FIRST_USER = 700_000


async def external_id(core: Core, show_id: int) -> str:
    """The show's catalogue id."""
    async with core.sessions() as session:
        show = await session.get(Show, show_id)
        assert show is not None
        return show.external_id


async def commands_executed(redis: aioredis.Redis) -> int:
    """Commands the Redis server executed since its statistics were last reset."""
    stats = await redis.info("commandstats")
    return sum(int(entry["calls"]) for entry in stats.values())


async def queued_before_opening(core: Core, show_id: int, users: list[int]) -> tuple[HoldStore, HandClock]:
    """The show queues, opening in an hour on a hand clock; `users` join; the clock moves to the opening."""
    clock = HandClock(time.time())
    opens = datetime.fromtimestamp(clock.now, tz=UTC) + timedelta(hours=1)
    await set_on_sale(core.sessions, await external_id(core, show_id), opens, True, utc_now())
    await core.holds.forget_inventory(show_id)
    store = HoldStore(
        core.redis,
        SqlInventory(core.sessions),
        CollectingSink(),
        clock=clock,
        queue_turns=TURNS,
        queue_turn_seconds=TURN_SECONDS,
    )
    for start in range(0, len(users), JOINING_AT_ONCE):
        batch = users[start : start + JOINING_AT_ONCE]
        await asyncio.gather(*(store.sale_queue.join(show_id, user, 2) for user in batch))
    clock.now = opens.timestamp()
    return store, clock


async def admission(core: Core, show_id: int) -> tuple[float, float, float]:
    """Admissions per second, round trips and commands per admission, for PEOPLE people."""
    store, clock = await queued_before_opening(core, show_id, list(range(FIRST_USER, FIRST_USER + PEOPLE)))
    await core.redis.config_resetstat()
    trips = admitted = 0
    started = time.perf_counter()
    while admitted < PEOPLE:
        # Each pass one window later: the turns of the last pass lapsed unused, the next TURNS come in.
        report = await store.sale_queue.admit(show_id)
        trips += report.redis_calls
        admitted += len(report.admitted)
        clock.advance(TURN_SECONDS + 1)
    elapsed = time.perf_counter() - started
    commands = await commands_executed(core.redis)
    return PEOPLE / elapsed, trips / PEOPLE, commands / PEOPLE


async def audited_admission(core: Core, show_id: int) -> float:
    """Admissions per second through the workers' whole pass (audit rows in SQL), PEOPLE // 5 people."""
    people = max(TURNS, PEOPLE // 5)
    first = FIRST_USER + PEOPLE
    store, clock = await queued_before_opening(core, show_id, list(range(first, first + people)))
    admitted = 0
    started = time.perf_counter()
    while admitted < people:
        now = datetime.fromtimestamp(clock.now, tz=UTC)
        admitted += await admit_queues_once(core.sessions, store.sale_queue, now)
        clock.advance(TURN_SECONDS + 1)
    return people / (time.perf_counter() - started)


async def press_p99(
    core: Core, application_args: dict, state: TelegramSandbox, show_id: int, users: list[int]
) -> float:
    """Everyone opens the show's map, then all press "✨2" at once; the p99 ms to the press's outcome."""
    application = build_application(core.settings, core, **application_args)
    async with running_bot(application, drop_pending_updates=True):
        maps: dict[int, int] = {}
        for start in range(0, len(users), OPENING_AT_ONCE):
            batch = users[start : start + OPENING_AT_ONCE]
            opened = await asyncio.gather(*(open_seat_map(state, user, show_id) for user in batch))
            maps.update(zip(batch, opened, strict=True))
        await asyncio.sleep(PER_CHAT_BURST / PER_CHAT_RATE + 0.5)
        rush = await press_all(state, maps, show_id, screens=False)
    return percentile(rush.outcomes_ms, 0.99)


async def main() -> None:
    """Seed the demo, measure admission, then the press with and without the queue; print the figures."""
    logging.basicConfig(level=logging.WARNING)
    # The turns admitted before the bot runs are not sent (nobody reads them here): no warning for each.
    logging.getLogger("bot.notifications").setLevel(logging.ERROR)
    endpoint, database_url = await fresh_stores("marquee-bench-onsale-")
    settings = stand_settings(
        database_url,
        REDIS_URL=endpoint.url,
        PUBLIC_BASE_URL="http://127.0.0.1:9",
        SALE_QUEUE_TURNS=RUSH,
        SALE_QUEUE_TURNS_PER_USER=1,
        # Everyone admitted in one pass, so they press together: the worst case for the seat map.
        SALE_QUEUE_ADMISSIONS_PER_SECOND=RUSH,
    )
    flood = FloodLimits(PER_CHAT_RATE, PER_CHAT_BURST, NO_GLOBAL_LIMIT, NO_GLOBAL_LIMIT)
    sandbox = TelegramSandbox(flood=flood, callback_answer_deadline=None)
    runner, api, state = await start_telegram_sandbox(state=sandbox)
    try:
        notifier = TelegramNotifier()
        async with open_core(settings, endpoint.url, notifier) as core:
            await core.redis.flushdb()
            await seed_demo(core.sessions, core.catalogue)
            counted, audited, queued, plain = await rush_shows(core, 4)
            per_s, trips, commands = await admission(core, counted)
            print(f"  admission: {per_s:.0f}/s, {trips:.2f} round trips and {commands:.1f} commands each")
            audited_per_s = await audited_admission(core, audited)
            print(f"  admission through the workers' pass (SQL audit rows): {audited_per_s:.0f}/s")
            # The queued show: on sale since a moment ago, RUSH people queued and admitted by the pass.
            await set_on_sale(
                core.sessions,
                await external_id(core, queued),
                utc_now() - timedelta(seconds=1),
                True,
                utc_now(),
            )
            await core.holds.forget_inventory(queued)
            await core.catalogue.invalidate()
            first = FIRST_USER * 2
            admitted = list(range(first, first + RUSH))
            for user in admitted:
                await core.holds.sale_queue.join(queued, user, 2)
            await admit_queues_once(core.sessions, core.holds.sale_queue)
            args = {"token": TOKEN, "api_base_url": api, "notifier": notifier}
            queue_p99 = await press_p99(core, args, state, queued, admitted)
            others = list(range(first + RUSH, first + 2 * RUSH))
            plain_p99 = await press_p99(core, args, state, plain, others)
    finally:
        await runner.cleanup()
        endpoint.stop()
    print(
        f"RESULT onsale_people={PEOPLE} admissions_per_s={per_s:.0f} "
        f"audited_admissions_per_s={audited_per_s:.0f} "
        f"redis_round_trips_per_admission={trips:.2f} redis_commands_per_admission={commands:.1f} "
        f"rush={RUSH} queue_press_p99_ms={queue_p99:.0f} plain_press_p99_ms={plain_p99:.0f} "
        f"ratio={plain_p99 / queue_p99 if queue_p99 else 0:.3f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
