"""One OS process of a confirmation race (a job of tests/support/racing.py's racing processes).

It builds its own engine, Redis client and hold store (as a worker process would), waits at the start
line so that every process fires at once, confirms its payment events concurrently and answers the
outcomes: [[booking_id, outcome, reason], ...]. With
`warm_show_id`, it reads the show's seat map first, so its Redis caches the sold seats as they are
before the race and learns nothing of the other processes' sales (as if Redis had lost those writes).
"""

from __future__ import annotations

import asyncio
from typing import Any

from booking_core.bookings.confirmation import confirm_payment
from booking_core.database import create_engine, create_session_factory
from booking_core.events import CollectingSink
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.store import HoldStore
from roles.redis_server import redis_client
from tests.support.racing import start_together
from tests.support.sales import provider_event


async def run(job: dict[str, Any]) -> list[list[Any]]:
    """Confirm every event of the job at once (bounded by `concurrency`); the outcomes in order."""
    engine = create_engine(job["database_url"])
    redis = redis_client(job["redis_url"])
    sessions = create_session_factory(engine)
    sink = CollectingSink()
    holds = HoldStore(redis, SqlInventory(sessions), sink)
    gate = asyncio.Semaphore(job["concurrency"])

    async def one(spec: dict[str, Any]) -> list[Any]:
        event = provider_event(
            spec["checkout_id"],
            spec["booking_id"],
            spec["amount_minor"],
            event_id=spec["event_id"],
            payment_id=spec["payment_id"],
        )
        async with gate:
            result = await confirm_payment(sessions, holds, sink, event, reminder_minutes=120)
        return [spec["booking_id"], result.outcome.value, result.reason]

    try:
        if job.get("warm_show_id"):
            await holds.seat_map(job["warm_show_id"], None)
        await start_together()
        return list(await asyncio.gather(*(one(spec) for spec in job["events"])))
    finally:
        await redis.aclose()
        await engine.dispose()


def confirm_at_once(job: dict[str, Any]) -> list[list[Any]]:
    """`run` the job on an event loop of its own."""
    return asyncio.run(run(job))
