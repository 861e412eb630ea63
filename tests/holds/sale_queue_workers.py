"""What each OS process of the on-sale queue race runs: the workers' queue pass, over and over.

Run in racing processes (tests/support/racing.py): each process opens its own Redis client and SQL
engine, waits at the start line for the others (and for the sale to open), then runs the queue pass as
fast as it can for `run_seconds`, returning the span of every pass it ran as (start ms, end ms) and
every admission its passes reported as (user, window end ms).
"""

from __future__ import annotations

import asyncio
import time

from booking_core.database import create_engine, create_session_factory
from booking_core.events import CollectingSink
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.sale_queue_audit import record_step, shows_with_queues
from booking_core.holds.store import HoldStore
from booking_core.models import utc_now
from booking_core.redis_url import async_client
from tests.support.racing import start_together

Span = tuple[int, int]  # a pass's (start ms, end ms) on the machine's clock, which the queue's windows use


def admitting_worker(
    redis_url: str, database_url: str, turns: int, turn_seconds: int, opens_at: float, run_seconds: float
) -> tuple[list[Span], list[tuple[int, int]]]:
    """Queue passes for `run_seconds` from the start, not before `opens_at` (the sale's opening, a
    time.time()); the span of each, and the admissions they made."""

    async def main() -> tuple[list[Span], list[tuple[int, int]]]:
        engine = create_engine(database_url)
        sessions = create_session_factory(engine)
        redis = async_client(redis_url, decode_responses=True)
        store = HoldStore(
            redis,
            SqlInventory(sessions),
            CollectingSink(),
            queue_turns=turns,
            queue_turn_seconds=turn_seconds,
        )
        admitted: list[tuple[int, int]] = []
        passes: list[Span] = []
        try:
            await start_together()
            await asyncio.sleep(max(0.0, opens_at - time.time()))
            stop_at = time.time() + run_seconds
            while time.time() < stop_at:
                started_ms = int(time.time() * 1000)
                for show_id in await shows_with_queues(sessions, utc_now()):
                    report = await store.sale_queue.admit(show_id)
                    await record_step(sessions, show_id, report)
                    admitted += [(user, ends) for user, _place, ends in report.admitted]
                passes.append((started_ms, int(time.time() * 1000) + 1))
            return passes, admitted
        finally:
            await redis.aclose()
            await engine.dispose()

    return asyncio.run(main())
