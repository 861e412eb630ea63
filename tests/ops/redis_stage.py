"""The stage of the Redis ops tests: a web and a worker process, a show, new customers wanting two seats."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.factories import ShowFixture, make_show
from tests.flows.harness import wait_until
from tests.ops.chat import ChatUser
from tests.ops.deployment import Deployment, Sandbox, Services, WebProcess, deployed
from tests.ops.invariants import settled_sales
from tests.ops.roles import RoleProcess
from tests.ops.shop import PAID, OpenBooking, Shop, open_shop

BOOKED_WITHIN = 30


@dataclass(frozen=True)
class RedisStage:
    """The running roles, the test's shop on their services, the show and its customers' seat pairs."""

    deployment: Deployment
    web: WebProcess
    worker: RoleProcess
    shop: Shop
    show: ShowFixture
    pairs: list[list[int]]
    users: list[ChatUser]


@asynccontextmanager
async def web_and_worker(
    folder: Path,
    services: Services,
    sandbox: Sandbox,
    http: aiohttp.ClientSession,
    first_user: int,
    count: int,
) -> AsyncIterator[RedisStage]:
    """A web and a worker ready, and a show with two seats for each of `count` new chat users.

    Left without an error, it checks that /healthz reports all well and both processes are alive,
    then shuts them down.
    """
    async with deployed(folder, services, sandbox, http) as deployment:
        web = deployment.start_web("web")
        worker = deployment.start_worker("worker")
        async with open_shop(services.database_url, services.redis_url, web.url, sandbox) as shop:
            show, pairs, users = await pairs_for_new_users(shop, http, sandbox, first_user, count)
            await deployment.ready()
            yield RedisStage(deployment, web, worker, shop, show, pairs, users)
            assert await health(http, web) == (200, {"database": "ok", "redis": "ok"})
        assert web.process.alive() and worker.alive()
        await deployment.shutdown()


async def health(http: aiohttp.ClientSession, web: WebProcess) -> tuple[int, dict[str, str]]:
    """The web process's /healthz status and body."""
    async with http.get(f"{web.url}/healthz") as answer:
        return answer.status, await answer.json()


async def pay_and_settle(shop: Shop, web: WebProcess, booking: OpenBooking) -> None:
    """Pay on the checkout page; wait until the booking is confirmed."""
    status, page = await shop.pay(booking.checkout_id)
    assert status == 200 and PAID in page, page
    await wait_until(
        lambda: shop.all_confirmed([booking.booking_id]), within=BOOKED_WITHIN, what=f"booking {booking}"
    )


async def pairs_for_new_users(
    shop: Shop, http: aiohttp.ClientSession, sandbox: Sandbox, first_user: int, count: int
) -> tuple[ShowFixture, list[list[int]], list[ChatUser]]:
    """A show with two seats for each of `count` new chat users: the show, the pairs, the users."""
    show = await make_show(shop.core.sessions, rows=count // 2, seats_per_row=4)
    pairs = [show.seat_ids[n : n + 2] for n in range(0, len(show.seat_ids), 2)]
    users = [ChatUser(http, sandbox.url, first_user + n) for n in range(count)]
    for user in users:
        await user.create()
    return show, pairs, users


async def each_seat_sold_once(shop: Shop, show: ShowFixture, users: list[ChatUser]) -> None:
    """Every seat sold once; each user has one confirmed booking and one Telegram ticket."""
    sales = await wait_until(
        lambda: settled_sales(shop.core.sessions, show.show_id, len(users)),
        within=BOOKED_WITHIN,
        what="every sale settled with nothing amiss",
    )
    assert sorted(sales.sold_seats) == sorted(show.seat_ids)
    assert dict(sales.buyers) == {user.id: 1 for user in users}
    assert dict(sales.outcomes) == {"confirmed": len(users)}
    for user in users:
        await user.refresh()
        assert user.count("Ticket code:") == 1, user.describe()


async def tickets_delivered(users: list[ChatUser]) -> None:
    """Until every one of `users` has their ticket in Telegram."""
    for user in users:
        await user.wait_for_text("Ticket code:", within=BOOKED_WITHIN)
