"""The one place the python-telegram-bot Application is assembled: builder, services, handlers, hooks.

The Application talks to the Bot API at `api_base_url` (Telegram's, a self-hosted Bot API server, or
the sandbox), under bot/flood_control.py's limiter (replies at once, bulk paced), handling updates
concurrently. Handlers keep no state in memory:
what they need comes from the core in `bot_data` (bot/context.py), the callback data and Redis.
Run it with `bot.running.running_bot` (polling, or webhook with webhooks/telegram.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram.ext import ApplicationBuilder

from bot.bot_api_http import AiohttpRequest
from bot.context import BotApplication, BotServices, install_services, installed_services
from bot.core import BookingCore
from bot.flood_control import RepliesFirst
from bot.handlers import (
    checkout,
    commands,
    contacts,
    errors,
    fallback,
    log_ids,
    movies,
    sale_queue,
    seats,
    shows,
    start,
    throttle,
    tickets,
    waitlist,
)
from bot.hold_reminders import send_hold_reminders
from bot.memory.username import remember_username
from bot.notifications import TelegramNotifier
from bot.seat_map.halls import HallCache
from bot.seat_map.screen import show_hall
from bot.settings import BotSettings
from bot.updates import UpdatesRequest
from bot.views.help import COMMANDS

log = logging.getLogger(__name__)

TELEGRAM_API = "https://api.telegram.org"
# Updates handled at once by one process; each mostly waits on Redis, SQL or the Bot API.
CONCURRENT_UPDATES = 256
_REMINDER_TASK = "marquee.reminder_task"


def build_application(
    settings: BotSettings,
    core: BookingCore,
    *,
    token: str,
    api_base_url: str = TELEGRAM_API,
    notifier: TelegramNotifier,
    concurrent_updates: int = CONCURRENT_UPDATES,
    rate_limiter: RepliesFirst | None = None,
) -> BotApplication:
    """The bot's Application over `core`; `notifier` (the core's EventSink) is bound to its Bot on start.

    Polled updates are read without the pressed message's keyboard (bot/updates.py).

    `rate_limiter` defaults to Telegram's published figures (bot/flood_control.py).
    """
    application = (
        application_builder(token, api_base_url, rate_limiter or RepliesFirst(), concurrent_updates)
        .get_updates_request(UpdatesRequest())
        .post_init(_post_init)
        .post_stop(_post_stop)
        .build()
    )
    halls = HallCache(core.catalogue, show_hall)
    install_services(application, BotServices(core, notifier, halls))
    register_handlers(application)
    return application


def application_builder(
    token: str, api_base_url: str, rate_limiter: RepliesFirst, concurrent_updates: int = CONCURRENT_UPDATES
) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """An Application builder for the Bot API at `api_base_url`: its HTTP client (bot/bot_api_http.py),
    `rate_limiter`, updates handled `concurrent_updates` at once; no handlers, no hooks."""
    api = api_base_url.rstrip("/")
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connections=1))
        .rate_limiter(rate_limiter)
        .concurrent_updates(concurrent_updates)
    )


def register_handlers(application: BotApplication) -> None:
    """Every handler, in the order that matters: within group 0 the first matching handler wins."""
    log_ids.register(application)  # group -100: every log line of an update carries its id
    throttle.register(application)  # group -50: a user over BOT_UPDATES_PER_MINUTE goes no further
    # Commands and buttons of the conversation, step by step.
    start.register(application)  # /start, CITIES, shared locations
    movies.register(application)  # CITY
    shows.register(application)  # MOVIE, SHOWS_DAY
    seats.register(application)  # SHOW, SEAT, BEST, RELEASE, NOOP
    waitlist.register(application)  # WAITLIST_*, OFFER_*
    sale_queue.register(application)  # QUEUE_*
    checkout.register(application)  # CHECKOUT
    tickets.register(application)  # /mytickets, MY_TICKETS, TICKETS, TICKET, CANCEL_*
    commands.register(application)  # /help, /cancel, HELP
    # Messages: contacts, then typed text (emails, or a hint); after the commands, which text excludes.
    contacts.register(application)
    # Anything left is a stale or forged button: last in group 0.
    fallback.register(application)
    errors.register(application)


async def _post_init(application: BotApplication) -> None:
    """Bind the notifier to this Bot, register the command menu, start sending hold reminders."""
    found = installed_services(application)
    found.notifier.bind(application.bot, found.core)
    # The web role's checkout return pages link customers back to this chat.
    await remember_username(found.core.redis, application.bot.username)
    await application.bot.set_my_commands(list(COMMANDS))
    task = asyncio.create_task(
        send_hold_reminders(found.core.holds, found.notifier.remind), name="hold-reminders"
    )
    application.bot_data[_REMINDER_TASK] = task


async def _post_stop(application: BotApplication) -> None:
    """Stop the reminders and let messages already on their way go out."""
    task = application.bot_data.pop(_REMINDER_TASK, None)
    if isinstance(task, asyncio.Task):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await installed_services(application).notifier.drain()
