"""The same payment job run many times at once by two `worker` processes: one confirmation, one ticket.

Dramatiq delivers at least once, and one event's job can be queued twice for real: a Redis broker hands a
dead-looking worker's message out again while the periodic pass enqueues the unsettled event once more.
Here the repeats are made on purpose, through the real web → broker → worker path with production
settings. The booking's row lock is held until one worker's confirmation waits inside its transaction;
that worker is paused (SIGSTOP) while the job is enqueued nine times more, so the other worker takes the
repeats and they wait on the lock too; then the lock goes and the confirmations of both processes race.
Once the queues are drained and the workers stopped, the customer has "Booking confirmed" and the
ticket photo exactly once each.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from tests.flows.harness import wait_until
from tests.ops.deployment import Sandbox, Services
from tests.ops.locks import ports_waiting_on_locks, rows_locked
from tests.ops.payment_stage import booking_before_two_workers
from tests.ops.roles import RoleProcess, owner_of
from tests.ops.shop import PAID
from workers.broker import build_broker
from workers.context import WorkerContext
from workers.jobs import DramatiqJobs
from workers.payments import PAYMENT_ACTORS
from workers.registry import register_actors

pytestmark = pytest.mark.timeout(180)

BUYER = 825_001
# Jobs for the one event besides the webhook's own.
REPEATS = 9
# The Redis broker keeps a message's body under <namespace>:<queue>.msgs until it is acknowledged.
BROKER_MESSAGES = [
    f"marquee:{queue}.msgs" for queue in ("payments", "payments.DQ", "delivery", "delivery.DQ")
]


def payment_jobs(broker_url: str) -> DramatiqJobs:
    """The test's own hand on the payment queue, as the web role enqueues."""

    async def never_opened() -> WorkerContext:
        raise RuntimeError("the test only sends jobs")

    return DramatiqJobs(register_actors(build_broker(broker_url), PAYMENT_ACTORS, never_opened))


async def lock_waiters(sessions: SessionFactory, workers: list[RoleProcess]) -> Counter[str]:
    """How many connections of each worker wait for a lock now."""
    ports = await ports_waiting_on_locks(sessions)
    return Counter(owner.name for port in ports if (owner := owner_of(port, workers)) is not None)


async def _at_least(counts: Awaitable[Counter[str]], name: str, n: int) -> Counter[str] | None:
    waiting = await counts
    return waiting if waiting[name] >= n else None


async def broker_drained(redis_url: str) -> bool:
    """Whether every payment and delivery message has been acknowledged."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        return sum([await client.hlen(key) for key in BROKER_MESSAGES]) == 0
    finally:
        await client.aclose()


async def test_the_same_payment_job_racing_on_two_workers_tells_the_customer_once(
    services: Services, sandbox: Sandbox, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    # Given a web process, two worker processes and a booking awaiting payment
    async with booking_before_two_workers(tmp_path, services, sandbox, http, BUYER) as stage:
        shop, booking, workers = stage.shop, stage.booking, stage.workers
        async with rows_locked(services.database_url, booking.booking_id):
            # When the customer pays, and a worker's confirmation waits inside its transaction
            status, page = await shop.pay(stage.web.url, booking.checkout_id)
            assert status == 200 and PAID in page, page
            first = await wait_until(
                lambda: lock_waiters(shop.core.sessions, workers), within=30, what="a confirmation waiting"
            )
            (first_worker,) = [worker for worker in workers if worker.name in first]
            (other_worker,) = [worker for worker in workers if worker is not first_worker]
            # ... and, that worker paused so the other takes them, the event's job is enqueued again
            first_worker.pause()
            try:
                (event_id,) = await shop.payment_event_ids()
                jobs = payment_jobs(services.redis_url)
                await asyncio.gather(*(jobs.payment_event_received(event_id) for _ in range(REPEATS)))
                waiting = await wait_until(
                    lambda: _at_least(lock_waiters(shop.core.sessions, workers), other_worker.name, 2),
                    within=30,
                    what="repeats waiting in the other worker",
                )
            finally:
                first_worker.resume()
            assert waiting[first_worker.name] == 1, waiting
            # ... and the booking's lock is let go, so the confirmations in both processes race
        # Then the booking is confirmed and every job and delivery runs to its end
        await wait_until(lambda: shop.all_confirmed([booking.booking_id]), within=30, what="confirmed")
        await stage.buyer.wait_for_text("Ticket code:", within=30)
        await wait_until(lambda: broker_drained(services.redis_url), within=30, what="the queues drained")
        # And, once the workers have stopped (sending what they had begun), the customer was told once
        await stage.deployment.shutdown()
        await stage.buyer.refresh()
        counts = (stage.buyer.count("Booking confirmed"), stage.buyer.count("Ticket code:"))
        assert counts == (1, 1), stage.buyer.describe()
