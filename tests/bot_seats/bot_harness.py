"""The bot's real python-telegram-bot Application, as bot.app builds it, polling the Telegram sandbox.

The core comes from roles.resources.open_core (the production wiring) over the test's database and Redis.
A handler in a later group marks each update as processed, so a test presses a button and then reads
the chat once the bot has finished with it, without sleeping.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.app import build_application
from bot.codec import Action, Callback, decode, encode
from bot.flood_control import RepliesFirst
from bot.notifications import TelegramNotifier
from bot.running import running_bot
from roles.resources import Core, open_core
from sandbox.telegram import CallbackAnswer, ChatMessage, TelegramSandbox
from tests.sandbox.telegram_harness import TOKEN, serve_sandbox
from tests.support.settings import stand_settings
from tests.support.stripe import serving_stripe

USER = 4242
OTHER_USER = 5151
WAIT_SECONDS = 10.0
AFTER_EVERYTHING = 99


@dataclass
class SeatBot:
    """The running bot, its core, and the simulated Telegram its users press buttons in."""

    application: Application[Any, Any, Any, Any, Any, Any]
    core: Core
    telegram: TelegramSandbox
    processed: dict[str, asyncio.Event] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)

    def done(self, query_id: str) -> asyncio.Event:
        """The event set once the bot has handled the callback query `query_id`."""
        return self.processed.setdefault(query_id, asyncio.Event())

    async def open_map(self, show_id: int, user: int = USER) -> ChatMessage:
        """The user taps a show in a listing (a text message with a SHOW button); returns the map message."""
        self.telegram.add_user(user)
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton("19:00", callback_data=encode(Action.SHOW, show_id, 0))]]
        )
        listing = await self.application.bot.send_message(user, "Shows today", reply_markup=markup)
        await self.press(listing.message_id, encode(Action.SHOW, show_id, 0), user)
        return self.map_message(user)

    async def press(
        self, message_id: int, data: str, user: int = USER, *, stale: bool = False
    ) -> CallbackAnswer:
        """Press a button and wait until the bot has handled it; returns the bot's answer.

        `stale`: the button is no longer on the message (an old screen, as a slow user sees it).
        """
        query_id = await self.telegram.press(user, message_id, data, forge=stale)
        await asyncio.wait_for(self.done(query_id).wait(), WAIT_SECONDS)
        return await self.telegram.wait_for_callback_answer(query_id)

    def map_message(self, user: int = USER) -> ChatMessage:
        """The newest photo the bot sent the user (the seat map)."""
        photos = [m for m in self.telegram.chat(user) if m.from_bot and m.kind == "photo"]
        assert photos, f"no seat map in chat {user}: {self.telegram.chat(user)}"
        return photos[-1]

    def picture(self, message: ChatMessage) -> Image.Image:
        """The photo of a message, decoded."""
        stored = self.telegram.files.get(message.photo_file_id or "")
        assert stored is not None
        return Image.open(io.BytesIO(stored.data))


def callbacks(message: ChatMessage) -> list[tuple[str, Callback]]:
    """The message's buttons as (text, decoded callback), in keyboard order."""
    found = []
    for button in message.buttons():
        if "callback_data" not in button:
            continue  # a URL button
        callback = decode(button["callback_data"])
        assert callback is not None, button
        found.append((button["text"], callback))
    return found


def shown_seats(message: ChatMessage) -> list[int]:
    """The ids of the seats on the map's keyboard, in keyboard order."""
    return [callback.args[1] for _text, callback in callbacks(message) if callback.action == Action.SEAT]


def seat_button(message: ChatMessage, seat_id: int) -> tuple[str, str]:
    """The (text, callback data) of a seat's button on the map."""
    for text, callback in callbacks(message):
        if callback.action == Action.SEAT and callback.args[1] == seat_id:
            return text, encode(callback.action, *callback.args)
    raise KeyError(f"seat {seat_id} is not on this block of the map")


def action_button(message: ChatMessage, action: Action, text: str | None = None) -> str:
    """The callback data of the first button with `action` (and `text` in its label, if given)."""
    for label, callback in callbacks(message):
        if callback.action == action and (text is None or text in label):
            return encode(callback.action, *callback.args)
    raise KeyError(
        f"no {action.name} button {text or ''} on message {message.message_id}: {message.buttons()}"
    )


@asynccontextmanager
async def running_seat_bot(database_url: str, redis_url: str, **overrides: Any) -> AsyncIterator[SeatBot]:
    """The whole bot (bot.app.build_application), polling a fresh Telegram sandbox; checkouts at the
    Stripe stand-in (no web app here: its webhooks go nowhere)."""
    async with serve_sandbox() as sandbox, serving_stripe("http://127.0.0.1:9") as stripe:
        settings = stand_settings(
            database_url,
            REDIS_URL=redis_url,
            MODE="demo",
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=sandbox.url,
            **{**stripe.settings, **overrides},
        )
        notifier = TelegramNotifier()
        async with open_core(settings, redis_url, notifier) as core:
            # Telegram's pacing is left to the tests of bot/flood_control.py: these users press fast.
            application = build_application(
                settings,
                core,
                token=TOKEN,
                api_base_url=sandbox.url,
                notifier=notifier,
                rate_limiter=RepliesFirst.without_pacing(),
            )
            running = SeatBot(application, core, sandbox.state)

            async def mark_processed(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
                if update.callback_query is not None:
                    running.done(update.callback_query.id).set()

            async def record_error(_update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
                if context.error is not None:
                    running.errors.append(context.error)

            # After every group of the bot's own, so the press is fully handled when it runs.
            application.add_handler(TypeHandler(Update, mark_processed), group=AFTER_EVERYTHING)
            application.add_error_handler(record_error)
            async with running_bot(application):
                yield running
        # A button must never end in an exception, whatever state it finds.
        assert not running.errors, running.errors
