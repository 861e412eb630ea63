"""The stage of the payment ops tests: a web process, two worker processes, one customer's booking to pay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.factories import ShowFixture, make_show
from tests.ops.chat import ChatUser
from tests.ops.deployment import Deployment, Sandbox, Services, WebProcess, deployed
from tests.ops.roles import RoleProcess
from tests.ops.shop import OpenBooking, Shop, open_shop


@dataclass(frozen=True)
class PaymentStage:
    """The running roles, the test's shop on their services, and the booking awaiting payment."""

    deployment: Deployment
    web: WebProcess
    workers: list[RoleProcess]
    shop: Shop
    show: ShowFixture
    buyer: ChatUser
    booking: OpenBooking


@asynccontextmanager
async def booking_before_two_workers(
    folder: Path, services: Services, sandbox: Sandbox, http: aiohttp.ClientSession, buyer_id: int
) -> AsyncIterator[PaymentStage]:
    """A web and two workers ready, and `buyer_id` (a new chat) with two seats booked, not yet paid."""
    # Each confirmation in a transaction of its own, so every one waits at the row lock where the test
    # sees it (settling together, a worker's repeats would wait for their turn inside it, out of sight).
    async with deployed(folder, services, sandbox, http, SETTLE_PAYMENTS_TOGETHER="false") as deployment:
        web = deployment.start_web("web")
        workers = [deployment.start_worker(name) for name in ("worker-a", "worker-b")]
        async with open_shop(services.database_url, services.redis_url, web.url, sandbox) as shop:
            show = await make_show(shop.core.sessions, rows=2, seats_per_row=5)
            buyer = ChatUser(http, sandbox.url, buyer_id)
            await buyer.create()
            booking = await shop.open_booking(buyer_id, show.seat_ids[:2], show.show_id)
            await deployment.ready()
            yield PaymentStage(deployment, web, workers, shop, show, buyer, booking)
