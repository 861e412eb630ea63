"""The whole delivery path on this machine: sandboxes, our web app, the core, a broker and a worker.

Everything is built by roles.resources (the production wiring) from settings that point at the
sandboxes: the Telegram Bot API stand-in, the Twilio stand-in (driven by the real twilio client) and
a real SMTP server. Only the actors' queue (unique per test, so concurrent runs never share one) and
their backoff (short, so retries take milliseconds) differ from production.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

import dramatiq
from aiohttp import web
from dramatiq.asyncio import get_event_loop_thread
from sqlalchemy import select

from booking_core.bookings.checkout import CheckoutStarted
from booking_core.bookings.customers import get_or_create_customer, set_email, set_phone
from booking_core.events import CollectingSink
from booking_core.holds.store import Hold
from booking_core.models import Notification, utc_now
from booking_core.payments.port import PaymentEvent, PaymentEventKind
from roles.resources import Core
from roles.settings import MarqueeSettings
from roles.web_role import core_web_app
from sandbox.mailbox import Mailbox, start_mailbox
from sandbox.telegram import TelegramSandbox, install_telegram_sandbox
from sandbox.twilio_api import SANDBOX_FROM_NUMBER, TwilioSandboxState, setup_twilio_sandbox
from tests.factories import ShowFixture, make_show
from tests.support.settings import NO_STRIPE, stand_settings
from tests.support.worker import open_worker_side
from webhooks.keys import TWILIO_AUTH_TOKEN
from webhooks.twilio_status import setup_twilio_routes
from workers.broker import build_broker
from workers.context import WorkerContext
from workers.delivery import DELIVERY_ACTORS
from workers.registry import ActorSpec, lazy_context, register_actors
from workers.running import running_worker

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
    # What the in-process worker opened on its own event loop, closed there when it stops.
    worker_resources: AsyncExitStack = field(default_factory=AsyncExitStack)

    def worker(self) -> AbstractAsyncContextManager[None]:
        """Run a Dramatiq worker for the delivery actors in this process for the block."""
        return _in_process_worker(self)

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
        started = await self.ctx.bookings.start_checkout(hold)
        assert isinstance(started, CheckoutStarted), started
        checkout_id = f"cs_{uuid.uuid4().hex}"
        await self.ctx.bookings.record_checkout(started.booking_id, "stripe", checkout_id, "")
        result = await self.ctx.bookings.confirm_payment(
            PaymentEvent(
                provider="stripe",
                event_id=f"evt_{uuid.uuid4().hex}",
                kind=PaymentEventKind.COMPLETED,
                checkout_id=checkout_id,
                booking_id=started.booking_id,
                amount_minor=started.amount_minor,
                currency=started.currency,
                payment_id=f"pi_{uuid.uuid4().hex}",
                raw=b"{}",
            )
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
        settings = self.settings
        return {
            **os.environ,
            "DATABASE_URL": settings.DATABASE_URL,
            "MODE": "demo",
            **NO_STRIPE,
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_API_BASE_URL": self.sandboxes.telegram_url,
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_FROM_NUMBER": SANDBOX_FROM_NUMBER,
            "SMTP_URL": self.sandboxes.mailbox.url,
            "PUBLIC_BASE_URL": self.web_url,
            "FLOW_REDIS_URL": self.redis_url,
            "FLOW_BROKER_URL": self.broker_url,
            "FLOW_QUEUE": self.queue,
            "FLOW_NAMESPACE": self.namespace,
            "FLOW_TWILIO_API": self.sandboxes.twilio_url,
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


def worker_side(
    settings: MarqueeSettings, redis_url: str, twilio_api: str, broker: dramatiq.Broker | None
) -> AbstractAsyncContextManager[tuple[Core, WorkerContext]]:
    """This stand's worker side: Telegram, Twilio and the mailbox are its sandboxes."""
    return open_worker_side(
        settings,
        CollectingSink(),
        telegram_token=settings.TELEGRAM_BOT_TOKEN or "",
        telegram_api_base_url=settings.TELEGRAM_API_BASE_URL or "",
        twilio_api_base_url=twilio_api,
        redis_url=redis_url,
        broker=broker,
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
        web_socket = socket.socket()
        web_socket.bind(("127.0.0.1", 0))
        web_url = f"http://127.0.0.1:{web_socket.getsockname()[1]}"
        settings = stand_settings(
            database_url,
            PUBLIC_BASE_URL=web_url,
            TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
            TELEGRAM_API_BASE_URL=sandboxes.telegram_url,
            TWILIO_ACCOUNT_SID=TWILIO_SID,
            TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
            TWILIO_FROM_NUMBER=SANDBOX_FROM_NUMBER,
            SMTP_URL=sandboxes.mailbox.url,
        )
        run_id = uuid.uuid4().hex[:12]
        queue, namespace = f"delivery-{run_id}", f"marquee-flow-{run_id}"
        broker = flow_broker(broker_url, namespace)
        stack.callback(_forget_queues, broker_url, queue)
        core, ctx = await stack.enter_async_context(
            worker_side(settings, redis_url, sandboxes.twilio_url, broker)
        )
        await _serve(stack, _web_app(core), web_socket)
        stand = Stand(settings, redis_url, broker_url, broker, queue, namespace, web_url, ctx, sandboxes)

        async def open_on_worker_loop() -> WorkerContext:
            _core, context = await stand.worker_resources.enter_async_context(
                worker_side(settings, redis_url, sandboxes.twilio_url, broker)
            )
            return context

        register_actors(broker, delivery_specs(queue), lazy_context(open_on_worker_loop))
        yield stand


@asynccontextmanager
async def _in_process_worker(stand: Stand) -> AsyncIterator[None]:
    running = running_worker(stand.broker, threads=4, queues=[stand.queue])
    # Starting and stopping block on the worker threads, whose actors call sandboxes served by this loop.
    await asyncio.to_thread(running.__enter__)
    try:
        yield
    finally:
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            await asyncio.to_thread(loop_thread.run_coroutine, stand.worker_resources.aclose())
        await asyncio.to_thread(running.__exit__, None, None, None)


async def _start_sandboxes(stack: AsyncExitStack) -> Sandboxes:
    gate = ResponseGate()
    telegram_app = web.Application(middlewares=[gate.middleware])
    telegram = TelegramSandbox()
    install_telegram_sandbox(telegram_app, telegram)
    telegram_url = await _serve(stack, telegram_app)

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
    twilio_url = await _serve(stack, twilio_app)

    mailbox = start_mailbox()
    stack.callback(mailbox.stop)
    return Sandboxes(telegram_url, telegram, gate, twilio_url, twilio, mailbox, sms_creates)


def _web_app(core: Core) -> web.Application:
    app = core_web_app(core, _NoPaymentJobs(), [setup_twilio_routes])
    app[TWILIO_AUTH_TOKEN] = TWILIO_TOKEN
    return app


class _NoPaymentJobs:
    """The web app's job queue; these tests send no payment webhooks."""

    async def payment_event_received(self, payment_event_id: int) -> None:
        raise AssertionError("no payment webhooks in the delivery flow tests")


async def _serve(stack: AsyncExitStack, app: web.Application, sock: socket.socket | None = None) -> str:
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    if sock is None:
        site: web.BaseSite = web.TCPSite(runner, "127.0.0.1", 0)
    else:
        site = web.SockSite(runner, sock)
    await site.start()
    return f"http://127.0.0.1:{runner.addresses[0][1]}"


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
