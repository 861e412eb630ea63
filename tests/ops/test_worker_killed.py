"""A `worker` process killed with SIGKILL in the middle of a payment: the other worker finishes it.

Two real worker processes consume RabbitMQ. The test holds the booking's row lock in PostgreSQL, so
whichever worker takes the payment job stops inside the confirmation's transaction; PostgreSQL says
which connection waits, and so which process to kill. Its message was never acknowledged, so RabbitMQ
hands it to the survivor, and the payment ends in exactly one booking, one ticket, one Telegram ticket.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import asyncpg
import psutil
import pytest
from sqlalchemy import text

from booking_core.database import SessionFactory
from tests.factories import make_show
from tests.flows.harness import wait_until
from tests.ops.chat import ChatUser
from tests.ops.deployment import Sandbox, Services, deployed
from tests.ops.invariants import settled_sales
from tests.ops.roles import RoleProcess
from tests.ops.services import PrivateRedis, asyncpg_dsn
from tests.ops.shop import PAID, open_shop

pytestmark = pytest.mark.timeout(90)

BUYER = 820_001


async def waiting_connection_port(sessions: SessionFactory) -> int | None:
    """The client port of a connection waiting for a lock in this database, if one does."""
    # A session of its own per look: pg_stat_activity is a snapshot taken once per transaction.
    async with sessions() as session:
        port = await session.scalar(
            text(
                "SELECT client_port FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        )
    return int(port) if port is not None else None


@asynccontextmanager
async def row_locked(database_url: str, booking_id: int) -> AsyncIterator[None]:
    """Hold the booking's row lock, as a slow transaction elsewhere would, until the block ends."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with connection.transaction():
            await connection.execute("SELECT id FROM bookings WHERE id = $1 FOR UPDATE", booking_id)
            yield
    finally:
        await connection.close()


def owner_of(port: int, workers: list[RoleProcess]) -> RoleProcess | None:
    """The worker process whose TCP connection uses local port `port`."""
    for worker in workers:
        connections = psutil.Process(worker.pid).net_connections(kind="tcp")
        if any(connection.laddr and connection.laddr.port == port for connection in connections):
            return worker
    return None


async def test_a_worker_killed_mid_payment_leaves_one_booking_and_one_ticket(
    sandbox: Sandbox,
    http: aiohttp.ClientSession,
    shared_postgres: str,
    private_redis: PrivateRedis,
    rabbitmq: str,
    tmp_path: Path,
) -> None:
    services = Services(shared_postgres, private_redis.url, rabbitmq)
    async with deployed(tmp_path, services, sandbox, http) as deployment:
        # Given a web process and two worker processes, and a booking awaiting payment
        web = deployment.start_web("web")
        workers = [deployment.start_worker(name) for name in ("worker-a", "worker-b")]
        async with open_shop(shared_postgres, private_redis.url, web.url) as shop:
            show = await make_show(shop.core.sessions, rows=2, seats_per_row=5)
            buyer = ChatUser(http, sandbox.url, BUYER)
            await buyer.create()
            booking = await shop.open_booking(BUYER, show.seat_ids[3:5], show.show_id)
            await deployment.ready()
            # ... whose row a transaction holds locked, so a confirmation would wait inside its own
            async with row_locked(shared_postgres, booking.booking_id):
                # When the customer pays and a worker takes the job
                status, page = await shop.pay(web.url, booking.checkout_id)
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
                assert stalled.process.returncode == -signal.SIGKILL
                assert (await shop.statuses([booking.booking_id]))[booking.booking_id] == "pending_payment"

            # Then the other worker gets the job and completes the payment
            await wait_until(
                lambda: shop.all_confirmed([booking.booking_id]), within=30, what="the booking confirmed"
            )
            await buyer.wait_for_text("Ticket code:", within=30)
            # And there is exactly one booking, one ticket and one Telegram ticket, sent once
            sales = await wait_until(
                lambda: settled_sales(shop.core.sessions, show.show_id, 1), within=20, what="the sale settled"
            )
            assert sales.confirmed == {booking.booking_id: BUYER}
            assert sorted(sales.sold_seats) == sorted(booking.seat_ids)
            assert dict(sales.outcomes) == {"confirmed": 1}
            await buyer.refresh()
            assert buyer.count("Ticket code:") == 1
            assert buyer.count("Booking confirmed") == 1
        # And the surviving processes stop cleanly
        assert [worker.alive() for worker in workers] == [worker is not stalled for worker in workers]
        await deployment.shutdown()
