"""PostgreSQL stopped for a few seconds under a `web` and a `worker` process.

The PostgreSQL is a private cluster the test made with initdb (the machine's shared server is never
touched). While it is down, payment webhooks are answered 503 and nothing is stored, so the provider
keeps the payment and sends it again; once the database is back every booking completes exactly once,
and both processes carry on without a restart.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.factories import make_show
from tests.flows.harness import wait_until
from tests.ops.chat import ChatUser
from tests.ops.deployment import Sandbox, Services, WebProcess, deployed
from tests.ops.invariants import settled_sales
from tests.ops.services import PrivatePostgres, PrivateRedis
from tests.ops.shop import NOT_ACCEPTED, PAID, OpenBooking, Shop, open_shop

pytestmark = pytest.mark.timeout(90)

FIRST_USER = 840_001
USERS = 4
DOWN_SECONDS = 3.0
RETRY_EVERY_SECONDS = 0.5
RETRIES = 40


async def health(http: aiohttp.ClientSession, web: WebProcess) -> tuple[int, dict[str, str]]:
    """The web process's /healthz status and body."""
    async with http.get(f"{web.url}/healthz") as answer:
        return answer.status, await answer.json()


async def pay_until_accepted(shop: Shop, booking: OpenBooking) -> int:
    """Pay, then send the payment notice again until our webhook takes it, as Stripe retries; attempts."""
    page_url, action = f"{shop.stripe_api}/c/pay/{booking.checkout_id}", "pay"
    for attempt in range(1, RETRIES + 1):
        status, page = await shop.press(page_url, action)
        if status == 409 and action == "pay":  # paid during the outage already: only the notice is owed
            action = "resend"
            status, page = await shop.press(page_url, action)
        assert status == 200, page
        if PAID in page:
            return attempt
        assert NOT_ACCEPTED in page and "HTTP 503" in page, page
        action = "resend"
        await asyncio.sleep(RETRY_EVERY_SECONDS)
    raise AssertionError(f"booking {booking.booking_id}: payment notice never accepted")


async def test_payments_during_a_database_outage_are_refused_then_complete_once(
    sandbox: Sandbox,
    http: aiohttp.ClientSession,
    private_postgres: PrivatePostgres,
    private_redis: PrivateRedis,
    tmp_path: Path,
) -> None:
    database = private_postgres.url
    async with deployed(tmp_path, Services(database, private_redis.url), sandbox, http) as deployment:
        web = deployment.start_web("web")
        worker = deployment.start_worker("worker")
        async with open_shop(database, private_redis.url, web.url, sandbox) as shop:
            # Given four customers holding seats, one of whom has paid, and a web and a worker process
            show = await make_show(shop.core.sessions, rows=2, seats_per_row=5)
            users = [ChatUser(http, sandbox.url, FIRST_USER + n) for n in range(USERS)]
            for user in users:
                await user.create()
            bookings = [
                await shop.open_booking(user.id, show.seat_ids[2 * n : 2 * n + 2], show.show_id)
                for n, user in enumerate(users)
            ]
            await deployment.ready()
            assert await pay_until_accepted(shop, bookings[0]) == 1
            await users[0].wait_for_text("Ticket code:", within=30)

            # When PostgreSQL stops
            await asyncio.to_thread(private_postgres.stop)
            # Then the web process says so, and payment webhooks are answered 503 (the provider will retry)
            assert await health(http, web) == (503, {"database": "down", "redis": "ok"})
            for booking in bookings[1:3]:
                status, page = await shop.pay(booking.checkout_id)
                assert status == 200 and NOT_ACCEPTED in page and "HTTP 503" in page, page
            await asyncio.sleep(DOWN_SECONDS)

            # When it is back
            await asyncio.to_thread(private_postgres.start)
            # Then nothing was stored while it was down
            assert await shop.payment_event_count() == 1
            # ... and the provider's retries, and a payment made afterwards, all go through
            attempts = await asyncio.gather(*(pay_until_accepted(shop, booking) for booking in bookings[1:]))
            assert len(attempts) == USERS - 1
            booking_ids = [booking.booking_id for booking in bookings]
            await wait_until(
                lambda: shop.all_confirmed(booking_ids), within=30, what="every booking confirmed"
            )
            for user in users:
                await user.wait_for_text("Ticket code:", within=30)

            # And each booking completed exactly once: one event stored per payment, one ticket, one message
            sales = await wait_until(
                lambda: settled_sales(shop.core.sessions, show.show_id, USERS),
                within=30,
                what="every sale settled with nothing amiss",
            )
            assert sales.confirmed == {booking.booking_id: booking.user_id for booking in bookings}
            assert sorted(sales.sold_seats) == sorted(show.seat_ids[: 2 * USERS])
            assert dict(sales.outcomes) == {"confirmed": USERS}
            for user in users:
                await user.refresh()
                assert user.count("Ticket code:") == 1, user.describe()
                assert user.count("Booking confirmed") == 1, user.describe()
            assert await health(http, web) == (200, {"database": "ok", "redis": "ok"})
        # And both processes carried on, and stop cleanly
        assert web.process.alive() and worker.alive()
        await deployment.shutdown()
