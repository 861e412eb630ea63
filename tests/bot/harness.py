"""The whole bot for tests: the real Application against the sandbox Bot API, with our web app
(payment webhooks, sandbox checkout page, the seat-map Mini App, Telegram webhook) on a real port and,
when asked, an in-process Dramatiq worker that settles payments and tells the user through its own Bot.

Everything is built as the roles build it: roles/resources.py's core, roles/web_role.py's web app and
roles/worker_role.py's worker context, from settings.
Simulated users act through `BotWorld.user(id)`: send text, press buttons, wait for the bot's answer.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy import func, select
from telegram import Update
from telegram.ext import TypeHandler

from booking_core.database import SessionFactory
from booking_core.models import BookedSeat, Booking, BookingLine, BookingStatus, Customer, Ticket, utc_now
from booking_core.tickets.codes import new_ticket_code
from bot.context import BotApplication
from bot.flood_control import RepliesFirst
from bot.notifications import TelegramNotifier
from bot.running import running_bot
from roles.bot_role import bot_application
from roles.endpoints import resolve_endpoints
from roles.resources import Core, open_core
from roles.settings import MarqueeSettings
from roles.web_role import opened_miniapp, web_application
from sandbox.telegram import CallbackAnswer, ChatMessage, TelegramSandbox, start_telegram_sandbox
from tests.flows.worker_setup import BrokerPlan, payment_actors
from tests.support.settings import stand_settings
from tests.support.stripe import StripeStand, serving_stripe
from tests.support.web import free_local_socket, local_url, serving_on
from webhooks.keys import JobQueue
from workers.payments import PAYMENT_ACTORS
from workers.running import actors_in_background

TOKEN = "123456:bot-test-token"
TELEGRAM_SECRET = "telegram-secret_42"
# After every group the bot registers: an update is noted once all its handlers have run.
HANDLED_GROUP = 1_000


@dataclass
class BotWorld:
    """The running system as tests drive it."""

    settings: MarqueeSettings
    core: Core
    application: BotApplication
    telegram: TelegramSandbox
    telegram_url: str
    base_url: str
    http: aiohttp.ClientSession
    notifier: TelegramNotifier
    handled: list[int]  # update ids whose every handler has finished, in that order
    users: dict[int, SimulatedUser] = field(default_factory=dict)

    def user(self, user_id: int) -> SimulatedUser:
        """A simulated Telegram user (created on first use)."""
        if user_id not in self.users:
            self.telegram.add_user(user_id, first_name=f"Fan{user_id}")
            self.users[user_id] = SimulatedUser(self, user_id)
        return self.users[user_id]

    async def until_handled(self, update_id: int, within: float = 15.0) -> None:
        """Until the bot has finished handling update `update_id`."""
        deadline = time.monotonic() + within
        while update_id not in self.handled:
            if time.monotonic() > deadline:
                raise AssertionError(f"update {update_id} not handled within {within} s")
            await asyncio.sleep(0.01)

    async def until_idle(self, within: float = 15.0) -> None:
        """Until no update waits in the bot's queue and none is being handled."""
        deadline = time.monotonic() + within
        while not (
            self.application.update_queue.empty()
            and self.application.update_processor.current_concurrent_updates == 0
        ):
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot still busy after {within} s")
            await asyncio.sleep(0.01)

    async def notices_sent(self, within: float = 15.0) -> None:
        """Until every message the bot's notifier has begun sending (offers, confirmations) is sent."""
        assert await self.notifier.drain(within), f"notices still being sent after {within} s"

    async def pay(self, checkout_url: str) -> int:
        """Press Pay on the Stripe stand-in's hosted page at `checkout_url`; the page's HTTP status."""
        async with self.http.post(checkout_url, data={"action": "pay"}) as response:
            await response.read()
            return response.status

    async def booking_statuses(self, user_id: int) -> list[str]:
        """The statuses of the user's bookings, oldest first."""
        async with self.core.sessions() as session:
            rows = await session.scalars(
                select(Booking.status)
                .join(Customer, Customer.id == Booking.customer_id)
                .where(Customer.telegram_user_id == user_id)
                .order_by(Booking.id)
            )
            return [str(status) for status in rows]

    async def sold_seats(self, show_id: int) -> list[int]:
        """Every booked_seats row's seat for the show (a seat twice would be a double sale)."""
        async with self.core.sessions() as session:
            return list(
                await session.scalars(select(BookedSeat.seat_id).where(BookedSeat.show_id == show_id))
            )

    async def count_confirmed(self, show_id: int) -> int:
        """Confirmed bookings of the show."""
        async with self.core.sessions() as session:
            query = select(func.count()).where(
                Booking.show_id == show_id, Booking.status == BookingStatus.CONFIRMED
            )
            return int(await session.scalar(query) or 0)


@dataclass
class SimulatedUser:
    """One Telegram user talking to the bot through the sandbox."""

    world: BotWorld
    id: int

    @property
    def chat(self) -> list[ChatMessage]:
        """The chat as the user sees it now."""
        return self.world.telegram.chat(self.id)

    def last(self) -> ChatMessage:
        """The bot's newest message."""
        message = self.world.telegram.last_bot_message(self.id)
        assert message is not None, "the bot has not written to this user"
        return message

    async def say(self, text: str, timeout: float = 10.0) -> ChatMessage:  # noqa: ASYNC109
        """Send text; the first bot message after it."""
        sent = await self.world.telegram.send_text(self.id, text)
        return await self.world.telegram.wait_for_bot_message(self.id, after=sent.message_id, timeout=timeout)

    async def share_location(self, latitude: float, longitude: float) -> ChatMessage:
        """Share a location; the bot's answer."""
        sent = await self.world.telegram.send_location(self.id, latitude, longitude)
        return await self.world.telegram.wait_for_bot_message(self.id, after=sent.message_id, timeout=10)

    async def share_contact(self, phone: str) -> ChatMessage:
        """Share their own contact; the bot's answer."""
        sent = await self.world.telegram.send_contact(self.id, phone)
        return await self.world.telegram.wait_for_bot_message(self.id, after=sent.message_id, timeout=10)

    async def press(
        self,
        data: str,
        message: ChatMessage | None = None,
        *,
        forge: bool = False,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """Press the button with `data` on `message` (default: the newest bot message that has it)."""
        target = message or self.message_with(data)
        query_id = await self.world.telegram.press(self.id, target.message_id, data, forge=forge)
        answer = await self.world.telegram.wait_for_callback_answer(query_id, timeout=timeout)
        return answer

    def message_with(self, data: str) -> ChatMessage:
        """The newest bot message carrying a button with `data`."""
        for message in reversed(self.chat):
            if message.from_bot and data in message.callback_data():
                return message
        raise AssertionError(f"no message of user {self.id} has a button {data!r}: {self.describe()}")

    async def wait_for_button(self, data: str, timeout: float = 15.0) -> ChatMessage:  # noqa: ASYNC109
        """The newest bot message with a button carrying `data`, once there is one."""

        def found(messages: list[ChatMessage]) -> ChatMessage | None:
            return next((m for m in reversed(messages) if m.from_bot and data in m.callback_data()), None)

        return await self.world.telegram.wait_for(self.id, found, timeout)

    async def wait_for_text(self, needle: str, timeout: float = 15.0) -> ChatMessage:  # noqa: ASYNC109
        """The first bot message whose text or caption contains `needle`."""

        def found(messages: list[ChatMessage]) -> ChatMessage | None:
            return next((m for m in messages if m.from_bot and needle in (m.text or m.caption or "")), None)

        return await self.world.telegram.wait_for(self.id, found, timeout)

    def describe(self) -> str:
        """The chat, one line per message, for assertion messages."""
        return "\n".join(
            f"  {m.message_id} {m.sender}: {(m.text or m.caption or m.kind)[:160]!r} {m.callback_data()}"
            for m in self.chat
        )


def text_of(message: ChatMessage) -> str:
    """A message's text or caption."""
    return message.text or message.caption or ""


@asynccontextmanager
async def open_world(
    database_url: str,
    redis_url: str,
    *,
    broker: BrokerPlan | None = None,
    webhook: bool = False,
    telegram: TelegramSandbox | None = None,
    **setting_overrides: Any,
) -> AsyncIterator[BotWorld]:
    """Start the sandboxes (Telegram, Stripe), the web app, the bot (polling, or webhook mode) and, with a
    broker, a worker.

    The web app is the web role's (in webhook mode, or else sharing the bot's Bot as the `run` process's
    Mini App would its own); the worker is the worker role's, telling users through Telegram.
    """
    stack = AsyncExitStack()
    runner_tg, telegram_url, state = await start_telegram_sandbox(
        state=telegram or TelegramSandbox(webhook_backoff=0.01)
    )
    stack.push_async_callback(runner_tg.cleanup)
    sock = free_local_socket()
    base_url = local_url(sock)
    stripe: StripeStand = await stack.enter_async_context(serving_stripe(base_url))
    webhook_url = f"{base_url}/webhooks/telegram"
    webhook_settings = {"TELEGRAM_WEBHOOK_URL": webhook_url, "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET}
    settings = stand_settings(
        database_url,
        **{
            "PUBLIC_BASE_URL": base_url,
            "REDIS_URL": redis_url,
            **stripe.settings,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": telegram_url,
            **(webhook_settings if webhook else {}),
            **setting_overrides,
        },
    )
    endpoints = resolve_endpoints(settings, redis_url, None)
    notifier = TelegramNotifier()
    try:
        jobs: JobQueue = _NoJobs()
        if broker is not None:
            dramatiq_broker = broker.build()
            actors, jobs = payment_actors(settings, dramatiq_broker, broker.specs(PAYMENT_ACTORS), None)
        core = await stack.enter_async_context(open_core(settings, redis_url, notifier))
        http = await stack.enter_async_context(aiohttp.ClientSession())
        # Telegram's pacing is left to the tests of bot/flood_control.py: conversations here press fast.
        application = bot_application(core, endpoints, notifier, rate_limiter=RepliesFirst.without_pacing())
        handled: list[int] = []

        async def note_handled(update: object, _context: object) -> None:
            if isinstance(update, Update):
                handled.append(update.update_id)

        application.add_handler(TypeHandler(Update, note_handled), group=HANDLED_GROUP)
        miniapp = await stack.enter_async_context(opened_miniapp(core, endpoints, notifier, application))
        app = web_application(core, endpoints, jobs, application, miniapp)
        await stack.enter_async_context(serving_on(app, sock))
        if broker is not None:
            await stack.enter_async_context(actors_in_background(dramatiq_broker, actors))
        await stack.enter_async_context(
            running_bot(
                application,
                webhook_url=settings.TELEGRAM_WEBHOOK_URL,
                webhook_secret=settings.TELEGRAM_WEBHOOK_SECRET,
            )
        )
        yield BotWorld(settings, core, application, state, telegram_url, base_url, http, notifier, handled)
    finally:
        await stack.aclose()


class _NoJobs:
    """A JobQueue for worlds without a worker: stored payment events stay for the test to settle."""

    def send_payment_events(self, payment_event_ids: list[int]) -> None:
        """Nothing runs them."""


def pay_url(message: ChatMessage) -> str:
    """The URL of the Pay button on a checkout message."""
    for button in message.buttons():
        if button.get("text", "").startswith("💳 Pay"):
            return str(button["url"])
    raise AssertionError(f"no Pay button on {message.text!r}")


async def confirmed_booking(sessions: SessionFactory, show_id: int, user_id: int, seat_ids: list[int]) -> int:
    """A confirmed booking with its sold seats and ticket, as a past sale would have left the rows."""
    async with sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.telegram_user_id == user_id))
        if customer is None:
            customer = Customer(telegram_user_id=user_id, chat_id=user_id, name=f"Fan{user_id}")
            session.add(customer)
            await session.flush()
        booking = Booking(
            show_id=show_id,
            customer_id=customer.id,
            status=BookingStatus.CONFIRMED,
            hold_token=secrets.token_urlsafe(16),
            hold_expires_at=utc_now() + timedelta(minutes=5),
            amount_minor=1200 * len(seat_ids),
            currency="EUR",
            lines=[BookingLine(seat_id=seat, category="standard", price_minor=1200) for seat in seat_ids],
        )
        session.add(booking)
        await session.flush()
        session.add_all(BookedSeat(show_id=show_id, seat_id=seat, booking_id=booking.id) for seat in seat_ids)
        session.add(Ticket(booking_id=booking.id, code=new_ticket_code()))
        await session.commit()
        return booking.id
