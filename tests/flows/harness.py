"""A whole payment path for tests: the web role's app on a real port, Dramatiq on a real broker, a worker,
and the Stripe stand-in the real Stripe adapter talks to, posting its signed webhooks to the web app.

Everything is built through roles/resources.py (the composition root) and the same route groups and
actor specs the roles use, so the wiring under test is the production wiring. The web side runs on
the test's event loop; the worker's context is opened on Dramatiq's own event loop thread (its database
and Redis clients belong to that loop) and closed there before the worker stops.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiohttp
import dramatiq
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from booking_core.bookings.checkout import CheckoutRefused, CheckoutStarted
from booking_core.events import CollectingSink, Event
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.store import Hold, HoldStore
from booking_core.models import BookedSeat, Booking, Notification, Payment, PaymentEvent, Ticket
from booking_core.payments.inbox import store_payment_event
from roles.endpoints import Endpoints, resolve_endpoints
from roles.resources import Core, open_core, open_worker_context
from roles.settings import MarqueeSettings
from roles.web_role import web_application
from sandbox.stripe_api import SignedEvent, StripeSandboxState
from tests.conftest import service_url
from tests.factories import ShowFixture, make_customer, make_show
from tests.flows.worker_setup import TELEGRAM_TOKEN, BrokerPlan, payment_actors
from tests.support.settings import settings_environment, stand_settings
from tests.support.stripe import serving_stripe
from tests.support.web import free_local_socket, local_url, serving_on
from workers.context import WorkerContext
from workers.jobs import DramatiqJobs
from workers.payments import PAYMENT_ACTORS
from workers.running import actors_in_background

T = TypeVar("T")


def broker_plan(kind: str, redis_url: str) -> BrokerPlan:
    """A fresh plan on "redis" (the test Redis) or "rabbitmq" (TEST_RABBITMQ_URL; skipped without it)."""
    run = uuid.uuid4().hex[:10]
    if kind == "redis":
        return BrokerPlan(url=redis_url, namespace=f"marquee-test-{run}")
    return BrokerPlan(url=service_url("TEST_RABBITMQ_URL", "RabbitMQ"), queue_suffix=f"-test-{run}")


@dataclass(frozen=True)
class Booked:
    """A booking awaiting payment with its provider checkout."""

    booking_id: int
    checkout_id: str
    hold: Hold
    amount_minor: int


@dataclass
class Flow:
    """The running system as a test drives it."""

    settings: MarqueeSettings
    endpoints: Endpoints
    core: Core
    jobs: DramatiqJobs
    broker: dramatiq.Broker
    base_url: str
    http: aiohttp.ClientSession
    events: CollectingSink
    show: ShowFixture
    stripe: StripeSandboxState
    _customers: set[int] = field(default_factory=set)

    def session(self, checkout_id: str) -> dict[str, Any]:
        """The Checkout Session as the Stripe stand-in holds it now."""
        return self.stripe.sessions[checkout_id]

    def refunds_of(self, checkout_id: str) -> dict[str, int]:
        """The refunds Stripe made of a session's payment: refund id -> amount."""
        intent = self.session(checkout_id)["payment_intent"]
        return {r["id"]: r["amount"] for r in self.stripe.refunds.values() if r["payment_intent"] == intent}

    async def post_event(self, event: SignedEvent) -> tuple[int, dict[str, Any]]:
        """POST a signed Stripe event to our endpoint, as Stripe delivers it; its status and JSON answer."""
        return await self.post_webhook("stripe", event.body, delivery_headers(event))

    async def post_webhook(
        self, provider: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """POST a webhook to our endpoint; its status and JSON answer."""
        url = f"{self.base_url}/webhooks/payments/{provider}"
        async with self.http.post(url, data=body, headers=dict(headers)) as response:
            return response.status, await response.json(content_type=None)

    async def book(
        self,
        user_id: int,
        seat_ids: list[int],
        *,
        checkout_seconds: int | None = None,
        amount_minor: int | None = None,
        currency: str | None = None,
        holds: HoldStore | None = None,
    ) -> Booked:
        """Hold seats, start the checkout and open it at the provider, as the bot does.

        `checkout_seconds` lets the provider's checkout outlive the hold (as Stripe's 30-minute minimum
        does); `amount_minor`/`currency` open it for a different price than the booking's; `holds` takes
        the hold through another hold store (one with shorter holds, see `short_holds`).
        """
        hold, started = await self._hold_and_start(user_id, seat_ids, holds or self.core.holds)
        assert isinstance(started, CheckoutStarted), started
        return await self._open_at_provider(
            hold, started, checkout_seconds=checkout_seconds, amount_minor=amount_minor, currency=currency
        )

    async def _hold_and_start(
        self, user_id: int, seat_ids: list[int], holds: HoldStore
    ) -> tuple[Hold, CheckoutStarted | CheckoutRefused]:
        """Hold the seats through `holds` and start the booking's checkout: the hold and the outcome."""
        if user_id not in self._customers:
            await make_customer(self.core.sessions, user_id, phone="+4915100000000", email="fan@example.com")
            self._customers.add(user_id)
        hold = await holds.hold(self.show.show_id, user_id, seat_ids)
        assert isinstance(hold, Hold), hold
        return hold, await self.core.bookings.start_checkout(hold)

    async def _open_at_provider(
        self,
        hold: Hold,
        started: CheckoutStarted,
        *,
        checkout_seconds: int | None = None,
        amount_minor: int | None = None,
        currency: str | None = None,
    ) -> Booked:
        """Open the started checkout at the payment provider and record it, as the bot does."""
        request = started.checkout_request()
        if checkout_seconds is not None:
            request = dataclasses.replace(
                request, expires_at=datetime.now(UTC) + timedelta(seconds=checkout_seconds)
            )
        if amount_minor is not None or currency is not None:
            request = dataclasses.replace(
                request,
                amount_minor=amount_minor or request.amount_minor,
                currency=currency or request.currency,
                idempotency_key=request.idempotency_key + "-altered",
            )
        provider = self.core.payment_provider
        checkout = await provider.create_checkout(request)
        await self.core.bookings.record_checkout(
            started.booking_id, provider.name, checkout.checkout_id, checkout.url
        )
        return Booked(started.booking_id, checkout.checkout_id, hold, request.amount_minor)

    async def book_lapsed(self, user_id: int, seat_ids: list[int]) -> Booked:
        """A booking whose short hold has lapsed while its checkout (an hour long) is still payable."""
        lifetime = 0.4
        hold, started = await self._hold_and_start(user_id, seat_ids, self.short_holds(lifetime))
        while not isinstance(started, CheckoutStarted):
            # So loaded a machine that the hold lapsed before its checkout started: a longer one.
            lifetime *= 2
            assert lifetime < 30, started
            hold, started = await self._hold_and_start(user_id, seat_ids, self.short_holds(lifetime))
        booked = await self._open_at_provider(hold, started, checkout_seconds=3600)
        await asyncio.sleep(max(0.0, (booked.hold.expires_at - datetime.now(UTC)).total_seconds()) + 0.05)
        return booked

    def short_holds(self, lifetime: float = 0.4) -> HoldStore:
        """A hold store over the same Redis and catalogue whose holds last `lifetime` seconds."""
        # Holds last whole seconds: a clock running behind by the rest makes them lapse sooner.
        seconds = math.ceil(lifetime)
        behind = seconds - lifetime
        return HoldStore(
            self.core.redis,
            SqlInventory(self.core.sessions),
            self.events,
            hold_seconds=seconds,
            clock=lambda: time.time() - behind,
        )

    async def page_action(self, checkout_id: str, action: str) -> tuple[int, str]:
        """Press Pay / Decline (`pay`, `decline`) on the session's hosted page; the page's status and text."""
        page = f"{self.stripe.base_url}/c/pay/{checkout_id}"
        async with self.http.post(page, data={"action": action}) as response:
            return response.status, await response.text()

    async def booking(self, booking_id: int) -> Booking:
        """The booking row as it is now."""
        async with self.core.sessions() as session:
            booking = await session.get(Booking, booking_id)
            assert booking is not None
            return booking

    async def payments(self, booking_id: int) -> list[Payment]:
        """The booking's payments rows."""
        async with self.core.sessions() as session:
            return list(await session.scalars(select(Payment).where(Payment.booking_id == booking_id)))

    async def event_rows(self) -> list[PaymentEvent]:
        """Every stored payment event, oldest first."""
        async with self.core.sessions() as session:
            return list(await session.scalars(select(PaymentEvent).order_by(PaymentEvent.id)))

    async def sale_counts(self, booking_id: int) -> dict[str, int]:
        """What a confirmation writes, counted: booked seats, tickets and outbox rows of the booking."""
        async with self.core.sessions() as session:
            counts = {}
            for name, model in (("seats", BookedSeat), ("tickets", Ticket), ("notifications", Notification)):
                counts[name] = int(
                    await session.scalar(
                        select(func.count()).select_from(model).where(model.booking_id == booking_id)
                    )
                    or 0
                )
            return counts

    async def sold_seat_rows(self) -> int:
        """Rows of booked_seats for the show (every sale of any booking)."""
        async with self.core.sessions() as session:
            query = (
                select(func.count()).select_from(BookedSeat).where(BookedSeat.show_id == self.show.show_id)
            )
            return int(await session.scalar(query) or 0)


async def wait_until(check: Callable[[], Awaitable[T | None]], *, within: float = 20.0, what: str = "") -> T:
    """Poll `check` until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or check}")
        await asyncio.sleep(0.05)


async def published(flow: Flow, match: Callable[[Event], bool], *, what: str) -> list[Event]:
    """The events `match` picks, once there is one: events go out after the transaction that caused them
    commits, so a test that saw the commit waits for its event rather than assuming it is there."""

    async def found() -> list[Event] | None:
        return [event for event in flow.events.events if match(event)] or None

    return await wait_until(found, what=what)


def booking_status_is(flow: Flow, booking_id: int, *statuses: str) -> Callable[[], Awaitable[bool]]:
    """A check for `wait_until`: the booking reached one of `statuses`."""

    async def check() -> bool:
        return (await flow.booking(booking_id)).status in statuses

    return check


async def settled(flow: Flow, booking_id: int, *statuses: str) -> None:
    """Wait until the booking reaches one of `statuses`."""
    await wait_until(booking_status_is(flow, booking_id, *statuses), what=f"booking {booking_id} {statuses}")


async def outcomes(flow: Flow) -> list[str | None]:
    """The outcome of every stored payment event, oldest first."""
    return [row.outcome for row in await flow.event_rows()]


def delivery_headers(event: SignedEvent) -> dict[str, str]:
    """The headers Stripe posts `event` with."""
    return {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": event.signature}


async def paid_but_webhook_lost(flow: Flow, booked: Booked) -> SignedEvent:
    """The customer pays, but Stripe's webhook never reaches us; the event it sent."""
    reachable, flow.stripe.webhook_url = flow.stripe.webhook_url, "http://127.0.0.1:9/unreachable"
    try:
        status, page = await flow.page_action(booked.checkout_id, "pay")
    finally:
        flow.stripe.webhook_url = reachable
    assert status == 200 and "did not reach Marquee" in page, page
    return flow.stripe.completions[booked.checkout_id]


async def stored_but_not_enqueued(flow: Flow, booked: Booked) -> int:
    """The customer paid; a web process stored Stripe's completed event, then died before enqueueing it."""
    event = await paid_but_webhook_lost(flow, booked)
    parsed = flow.core.payment_provider.parse_webhook(event.body, delivery_headers(event))
    event_id = await store_payment_event(flow.core.sessions, parsed, event.body.decode())
    assert event_id is not None
    return event_id


async def withheld(flow: Flow, step: Callable[[], Awaitable[T]]) -> tuple[T, SignedEvent]:
    """Run `step` while Stripe's webhooks are lost; what it returned and the one event Stripe sent."""
    sent = len(flow.stripe.events)
    reachable, flow.stripe.webhook_url = flow.stripe.webhook_url, "http://127.0.0.1:9/unreachable"
    try:
        result = await step()
        await flow.stripe.deliveries_done()
    finally:
        flow.stripe.webhook_url = reachable
    (event,) = flow.stripe.events[sent:]
    return result, event


def counter(name: str, **labels: str) -> float:
    """A Prometheus sample of this process's registry (0 when never recorded)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


# `open_flow` with a test's database, Redis and Telegram stand-in bound (the `open_test_flow` fixture): pass
# the broker plan, and `worker=` or settings as `open_flow` takes them.
FlowOpener = Callable[..., AbstractAsyncContextManager[Flow]]


@asynccontextmanager
async def open_flow(
    database_url: str,
    redis_url: str,
    plan: BrokerPlan,
    telegram_api: str,
    *,
    worker: bool = True,
    **setting_overrides: Any,
) -> AsyncIterator[Flow]:
    """Start the web role's app on a real port, declare the actors, and run a worker unless told not to.

    The Stripe stand-in runs beside it; the web app's Stripe adapter talks to it, and its webhooks come
    to the web app.
    """
    sock = free_local_socket()
    async with serving_stripe(local_url(sock)) as stripe:
        settings = stand_settings(
            database_url,
            **{
                "PUBLIC_BASE_URL": local_url(sock),
                "REDIS_URL": redis_url,
                **stripe.settings,
                "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
                "TELEGRAM_API_BASE_URL": telegram_api,
                **setting_overrides,
            },
        )
        endpoints = resolve_endpoints(settings, redis_url, None)
        events = CollectingSink()
        broker = plan.build()
        actors, jobs = payment_actors(settings, broker, plan.specs(PAYMENT_ACTORS), events)
        async with (
            open_core(settings, redis_url, events) as core,
            aiohttp.ClientSession() as http,
            serving_on(web_application(core, endpoints, jobs, None), sock) as base_url,
        ):
            show = await make_show(core.sessions)
            flow = Flow(settings, endpoints, core, jobs, broker, base_url, http, events, show, stripe.state)
            if worker:
                async with actors_in_background(broker, actors):
                    yield flow
            else:
                yield flow
                broker.close()


@asynccontextmanager
async def periodic_context(flow: Flow) -> AsyncIterator[WorkerContext]:
    """A worker context on the test's loop, for running the periodic passes as a worker process does."""
    async with open_worker_context(flow.core, flow.endpoints) as ctx:
        ctx.jobs = flow.jobs
        yield ctx


def subprocess_env(settings: MarqueeSettings, plan: BrokerPlan, **extra: str) -> dict[str, str]:
    """The environment of a worker subprocess: the flow's settings and broker plan."""
    return {**settings_environment(settings), **plan.env(), **extra}
