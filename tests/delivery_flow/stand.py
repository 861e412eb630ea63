"""The whole delivery path on this machine: sandboxes, our web app, the core, a broker and a worker.

Everything is built as the roles build it (roles.resources' core, the web role's app, the worker role's
context and actors) from settings that point at the sandboxes: the Telegram Bot API stand-in, the Twilio
stand-in (driven by the real twilio client) and a real SMTP server. Only the actors' queue (unique per
test, so concurrent runs never share one) and their backoff (short, so retries take milliseconds)
differ from production.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

import dramatiq
from aiohttp import web
from sqlalchemy import select

from booking_core.bookings.customers import get_or_create_customer, set_email, set_phone
from booking_core.events import CollectingSink
from booking_core.holds.store import Hold
from booking_core.models import Notification, utc_now
from roles.endpoints import resolve_endpoints
from roles.resources import open_core
from roles.settings import MarqueeSettings
from roles.web_role import web_application
from roles.worker_role import open_full_worker_context
from sandbox.mailbox import Mailbox, start_mailbox
from sandbox.telegram import TelegramSandbox, install_telegram_sandbox
from sandbox.twilio_api import SANDBOX_FROM_NUMBER, TwilioSandboxState, setup_twilio_sandbox
from tests.factories import ShowFixture, make_show
from tests.support.sales import provider_event, recorded_checkout
from tests.support.settings import settings_environment, stand_settings
from tests.support.web import free_local_socket, local_url, serving_on
from workers.broker import build_broker
from workers.context import WorkerContext
from workers.delivery import DELIVERY_ACTORS
from workers.registry import ActorSpec
from workers.running import ActorContext, actors_in_background

T = TypeVar("T")

TELEGRAM_TOKEN = "123456:delivery-flow-token"
TWILIO_SID = "AC" + "de11" * 8
TWILIO_TOKEN = "delivery-flow-twilio-auth-token"
# A killed worker's messages come back this soon (Redis broker; RabbitMQ requeues at once).
HEARTBEAT_TIMEOUT_MS = 1_000
WAIT_SECONDS = 15.0


class ResponseGate:
    """Holds the answers of chosen Bot API methods, after the sandbox acted, while closed."""

    def __init__(self) -> None:
        self.methods: set[str] = set()
        self.held = 0
        self._open = asyncio.Event()
        self._open.set()

    def close(self, *methods: str) -> None:
        """From now on, answer these methods (e.g. "sendPhoto") only once opened again."""
        self.methods = {method.lower() for method in methods}
        self._open.clear()

    def open(self) -> None:
        """Let every held answer go."""
        self._open.set()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Callable[..., Awaitable[web.StreamResponse]]):
        """aiohttp middleware around the sandbox's routes."""
        response = await handler(request)
        if request.path.rsplit("/", 1)[-1].lower() in self.methods and not self._open.is_set():
            self.held += 1
            await self._open.wait()
        return response


@dataclass
class Sandboxes:
    """The stand-ins the workers talk to, and what tests read back from them."""

    telegram_url: str
    telegram: TelegramSandbox
    gate: ResponseGate
    twilio_url: str
    twilio: TwilioSandboxState
    mailbox: Mailbox
    # HTTP status of every "create message" call the Twilio stand-in answered, in order.
    sms_creates: list[int] = field(default_factory=list)


@dataclass
class Stand:
    """A running stand; `ctx` is the test process's own worker context (for relays and reads)."""

    settings: MarqueeSettings
    redis_url: str
    broker_url: str
    broker: dramatiq.Broker
    queue: str
    namespace: str
    web_url: str
    ctx: WorkerContext
    sandboxes: Sandboxes
    actors: ActorContext

    def worker(self) -> AbstractAsyncContextManager[dramatiq.Worker]:
        """Run a Dramatiq worker for the delivery actors in this process for the block."""
        return actors_in_background(self.broker, self.actors, threads=4, queues=[self.queue])

    async def confirmed_booking(
        self,
        user_id: int,
        *,
        phone: str | None = None,
        email: str | None = None,
        starts_in: timedelta = timedelta(days=1),
        seats: int = 2,
        show: ShowFixture | None = None,
    ) -> int:
        """A customer holds seats (of `show`, else of a new one), checks out and pays; the real
        confirmation writes the outbox."""
        if show is None:
            show = await make_show(
                self.ctx.sessions, rows=2, seats_per_row=6, starts_at=utc_now() + starts_in
            )
        await get_or_create_customer(self.ctx.sessions, user_id, chat_id=user_id)
        if phone:
            await set_phone(self.ctx.sessions, user_id, phone)
        if email:
            await set_email(self.ctx.sessions, user_id, email)
        self.sandboxes.telegram.add_user(user_id)
        hold = await self.ctx.holds.hold(show.show_id, user_id, show.seat_ids[:seats])
        assert isinstance(hold, Hold), hold
        started, checkout_id = await recorded_checkout(self.ctx.bookings, hold)
        result = await self.ctx.bookings.confirm_payment(
            provider_event(checkout_id, started.booking_id, started.amount_minor, currency=started.currency)
        )
        assert result.outcome == "confirmed", result
        return started.booking_id

    async def rows(self, booking_id: int) -> dict[tuple[str, str], Notification]:
        """The booking's outbox rows by (channel, kind)."""
        async with self.ctx.sessions() as session:
            found = await session.scalars(select(Notification).where(Notification.booking_id == booking_id))
            return {(row.channel, row.kind): row for row in found}

    async def wait_for_rows(
        self,
        booking_id: int,
        done: Callable[[dict[tuple[str, str], Notification]], bool],
        timeout: float = WAIT_SECONDS,  # noqa: ASYNC109 - a bounded poll of the database
    ) -> dict[tuple[str, str], Notification]:
        """The booking's rows once `done(rows)` holds; fails with the rows' state after `timeout`."""
        return await poll(lambda: self.rows(booking_id), done, timeout)

    def worker_environment(self) -> dict[str, str]:
        """The environment of a worker process on this stand (see worker_process.py)."""
        return {
            **settings_environment(self.settings),
            "FLOW_BROKER_URL": self.broker_url,
            "FLOW_QUEUE": self.queue,
            "FLOW_NAMESPACE": self.namespace,
        }


async def poll(
    read: Callable[[], T | Awaitable[T]],
    done: Callable[[T], bool],
    timeout: float = WAIT_SECONDS,  # noqa: ASYNC109 - a bounded poll
) -> T:
    """`read()` (sync or async) every 50 ms until `done` holds for it; AssertionError after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = read()
        if inspect.isawaitable(value):
            value = await value
        if done(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached in {timeout}s: {value!r}")
        await asyncio.sleep(0.05)


def delivery_actors(settings: MarqueeSettings, broker: dramatiq.Broker, queue: str) -> ActorContext:
    """The delivery actors on `queue`, their context opened as the worker role opens it."""
    endpoints = resolve_endpoints(settings, settings.REDIS_URL or "", None)
    return ActorContext(
        broker,
        delivery_specs(queue),
        lambda: open_full_worker_context(settings, endpoints, broker, events=CollectingSink()),
    )


def delivery_specs(queue: str) -> list[ActorSpec]:
    """The production actor specs on `queue`, with backoff short enough for tests."""
    return [
        dataclasses.replace(spec, queue=queue, min_backoff_ms=50, max_backoff_ms=200)
        for spec in DELIVERY_ACTORS
    ]


def flow_broker(url: str, namespace: str) -> dramatiq.Broker:
    """A broker that notices a dead worker within HEARTBEAT_TIMEOUT_MS (maintenance on every call)."""
    return build_broker(
        url, namespace=namespace, heartbeat_timeout_ms=HEARTBEAT_TIMEOUT_MS, maintenance_chance=1.0
    )


@asynccontextmanager
async def open_stand(database_url: str, redis_url: str, broker_url: str) -> AsyncIterator[Stand]:
    """Start the sandboxes and the web app, open the core, declare the actors; tear it all down after."""
    async with AsyncExitStack() as stack:
        sandboxes = await _start_sandboxes(stack)
        web_socket = free_local_socket()
        settings = stand_settings(
            database_url,
            REDIS_URL=redis_url,
            PUBLIC_BASE_URL=local_url(web_socket),
            TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
            TELEGRAM_API_BASE_URL=sandboxes.telegram_url,
            TWILIO_ACCOUNT_SID=TWILIO_SID,
            TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
            TWILIO_FROM_NUMBER=SANDBOX_FROM_NUMBER,
            TWILIO_API_BASE_URL=sandboxes.twilio_url,
            SMTP_URL=sandboxes.mailbox.url,
        )
        endpoints = resolve_endpoints(settings, redis_url, None)
        run_id = uuid.uuid4().hex[:12]
        queue, namespace = f"delivery-{run_id}", f"marquee-flow-{run_id}"
        broker = flow_broker(broker_url, namespace)
        stack.callback(_forget_queues, broker_url, queue)
        ctx = await stack.enter_async_context(
            open_full_worker_context(settings, endpoints, broker, events=CollectingSink())
        )
        core = await stack.enter_async_context(open_core(settings, redis_url, CollectingSink()))
        web_url = await stack.enter_async_context(
            serving_on(web_application(core, endpoints, _NoPaymentJobs(), None), web_socket)
        )
        actors = delivery_actors(settings, broker, queue)
        yield Stand(
            settings, redis_url, broker_url, broker, queue, namespace, web_url, ctx, sandboxes, actors
        )


async def _start_sandboxes(stack: AsyncExitStack) -> Sandboxes:
    gate = ResponseGate()
    telegram_app = web.Application(middlewares=[gate.middleware])
    telegram = TelegramSandbox()
    install_telegram_sandbox(telegram_app, telegram)
    telegram_url = await stack.enter_async_context(serving_on(telegram_app, free_local_socket()))

    sms_creates: list[int] = []

    @web.middleware
    async def count_creates(request: web.Request, handler: Callable[..., Awaitable[web.StreamResponse]]):
        response = await handler(request)
        if request.method == "POST" and request.path.endswith("/Messages.json"):
            sms_creates.append(response.status)
        return response

    twilio = TwilioSandboxState(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, callback_delay=0.02)
    twilio_app = web.Application(middlewares=[count_creates])
    setup_twilio_sandbox(twilio_app, twilio)
    twilio_url = await stack.enter_async_context(serving_on(twilio_app, free_local_socket()))

    mailbox = start_mailbox()
    stack.callback(mailbox.stop)
    return Sandboxes(telegram_url, telegram, gate, twilio_url, twilio, mailbox, sms_creates)


class _NoPaymentJobs:
    """The web app's job queue; these tests send no payment webhooks."""

    def send_payment_events(self, payment_event_ids: list[int]) -> None:
        raise AssertionError("no payment webhooks in the delivery flow tests")


def _forget_queues(broker_url: str, queue: str) -> None:
    """RabbitMQ keeps declared queues: delete this test's (Redis keys go with the test's flushed db)."""
    if not broker_url.startswith("amqp://"):
        return
    import pika  # deferred: only RabbitMQ runs need it

    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = connection.channel()
        for name in _queue_names(queue):
            channel.queue_delete(queue=name)
    finally:
        connection.close()


def _queue_names(queue: str) -> Iterable[str]:
    return (queue, f"{queue}.DQ", f"{queue}.XQ")
