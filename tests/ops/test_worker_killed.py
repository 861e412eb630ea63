"""A `worker` process killed with SIGKILL in the middle of a payment: the other worker finishes it.

Two real worker processes consume the broker, RabbitMQ or Redis, with the production settings `main.py
worker` builds (no test-only heartbeat or maintenance). The test holds the booking's row lock in
PostgreSQL, so whichever worker takes the payment job stops inside the confirmation's transaction;
PostgreSQL says which connection waits, and so which process to kill. Its message was never
acknowledged: RabbitMQ hands it to the survivor at once; on Redis the survivor's broker requeues it once
the dead worker's heartbeat is HEARTBEAT_TIMEOUT_MS old (during maintenance, on MAINTENANCE_CHANCE of
its calls), and the periodic requeue of payment events left unsettled for REQUEUE_AFTER_SECONDS is the
backstop that bounds the wait. Either way the payment ends in exactly one booking, one ticket, one
Telegram ticket.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import aiohttp
import pytest

from booking_core.database import SessionFactory
from tests.flows.harness import wait_until
from tests.ops.deployment import Sandbox, Services
from tests.ops.invariants import settled_sales
from tests.ops.locks import ports_waiting_on_locks, rows_locked
from tests.ops.payment_stage import booking_before_two_workers
from tests.ops.roles import owner_of
from tests.ops.services import PrivateRedis
from tests.ops.shop import PAID
from workers.periodic import REQUEUE_AFTER_SECONDS, REQUEUE_INTERVAL_SECONDS

pytestmark = pytest.mark.timeout(300)

# A chat of its own per broker: both cases may run in one test session, against one sandbox process.
BUYERS = {"rabbitmq": 820_001, "redis": 820_002}
# How long the survivor may take to confirm the killed worker's payment, per broker. Redis: the lost
# event is enqueued again by the periodic pass at the latest (maintenance usually comes sooner).
CONFIRMED_WITHIN = {
    "rabbitmq": 30.0,
    "redis": REQUEUE_AFTER_SECONDS + REQUEUE_INTERVAL_SECONDS + 30.0,
}


async def waiting_connection_port(sessions: SessionFactory) -> int | None:
    """The client port of a connection waiting for a lock in this database, if one does."""
    ports = await ports_waiting_on_locks(sessions)
    return ports[0] if ports else None


@pytest.mark.parametrize("broker", ["rabbitmq", "redis"])
async def test_a_worker_killed_mid_payment_leaves_one_booking_and_one_ticket(
    broker: str,
    request: pytest.FixtureRequest,
    sandbox: Sandbox,
    http: aiohttp.ClientSession,
    shared_postgres: str,
    private_redis: PrivateRedis,
    tmp_path: Path,
) -> None:
    broker_url = request.getfixturevalue("rabbitmq") if broker == "rabbitmq" else None
    services = Services(shared_postgres, private_redis.url, broker_url)
    # Given a web process and two worker processes, and a booking awaiting payment
    async with booking_before_two_workers(tmp_path, services, sandbox, http, BUYERS[broker]) as stage:
        shop, booking, workers = stage.shop, stage.booking, stage.workers
        # ... whose row a transaction holds locked, so a confirmation would wait inside its own
        async with rows_locked(shared_postgres, booking.booking_id):
            # When the customer pays and a worker takes the job
            status, page = await shop.pay(stage.web.url, booking.checkout_id)
            assert status == 200 and PAID in page, page
            port = await wait_until(
                lambda: waiting_connection_port(shop.core.sessions),
                within=20,
                what="a worker waiting on the booking's lock",
            )
            stalled = owner_of(port, workers)
            assert stalled is not None, f"no worker owns the connection from port {port}"
            # ... and is killed with SIGKILL before it could commit or acknowledge
            stalled.kill()
            killed_at = time.monotonic()
            assert stalled.process.returncode == -signal.SIGKILL
            assert (await shop.statuses([booking.booking_id]))[booking.booking_id] == "pending_payment"

        # Then the other worker gets the job and completes the payment, ticket sent, within the bound
        within = CONFIRMED_WITHIN[broker]
        await wait_until(
            lambda: shop.all_confirmed([booking.booking_id]), within=within, what="the booking confirmed"
        )
        await stage.buyer.wait_for_text("Ticket code:", within=within - (time.monotonic() - killed_at))
        # And there is exactly one booking, one ticket and one Telegram ticket, sent once
        sales = await wait_until(
            lambda: settled_sales(shop.core.sessions, stage.show.show_id, 1),
            within=20,
            what="the sale settled",
        )
        assert sales.confirmed == {booking.booking_id: stage.buyer.id}
        assert sorted(sales.sold_seats) == sorted(booking.seat_ids)
        assert dict(sales.outcomes) == {"confirmed": 1}
        # And the surviving processes stop cleanly, having sent what they had to send
        assert [worker.alive() for worker in workers] == [worker is not stalled for worker in workers]
        await stage.deployment.shutdown()
        await stage.buyer.refresh()
        counts = (stage.buyer.count("Booking confirmed"), stage.buyer.count("Ticket code:"))
        assert counts == (1, 1), stage.buyer.describe()
