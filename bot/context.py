"""What handlers reach through `context.bot_data`: the booking core and the bot's own collaborators.

`build_application` installs one `BotServices` under a private key; handlers read it only through the
typed accessors below, never by key. Nothing here is per-user state: every bot process holds the same
services, so any process can answer any button.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ContextTypes

from bot.core import BookingCore
from bot.settings import BotSettings

if TYPE_CHECKING:
    from bot.notifications import TelegramNotifier
    from bot.seat_map.halls import HallCache
    from bot.seat_map.screen import ShowHall

# The context every handler receives (python-telegram-bot's default types).
BotContext = ContextTypes.DEFAULT_TYPE
BotApplication = Application[Any, Any, Any, Any, Any, Any]

_SERVICES = "marquee.services"
REDRAWS_AT_ONCE = 64


@dataclass(frozen=True)
class BotServices:
    """The collaborators of every handler, built once at start-up."""

    core: BookingCore
    notifier: TelegramNotifier
    # Shows' halls with their blocks, each read from the catalogue at most once every few seconds.
    halls: HallCache[ShowHall]
    # Seat-map redraws at once: in a rush the presses' answers (the outcomes) get the CPU first; enough
    # of them to keep the event loop busy while pictures are drawn in threads and edits are on their way
    # (8 at once left it idle: benchmarks/rush.py's screen p99, 4.1-6.7 s with 8 at load 13, was 3.7-3.8 s).
    redraws: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(REDRAWS_AT_ONCE))


def install_services(application: BotApplication, services: BotServices) -> None:
    """Make `services` reachable from every handler of `application`."""
    application.bot_data[_SERVICES] = services


def services(context: CallbackContext[Any, Any, Any, Any]) -> BotServices:
    """The bot's services (raises LookupError if `build_application` did not install them)."""
    return installed_services(context.application)


def installed_services(application: BotApplication) -> BotServices:
    """The services of an Application, where no handler context exists (start-up and shutdown hooks)."""
    found = application.bot_data.get(_SERVICES)
    if not isinstance(found, BotServices):
        raise LookupError("bot services are not installed: build the Application with build_application")
    return found


def core(context: CallbackContext[Any, Any, Any, Any]) -> BookingCore:
    """The booking core: catalogue, holds (and waitlist), bookings, payment provider, sessions, redis."""
    return services(context).core


def settings(context: CallbackContext[Any, Any, Any, Any]) -> BotSettings:
    """The process settings."""
    return services(context).core.settings


def notifier(context: CallbackContext[Any, Any, Any, Any]) -> TelegramNotifier:
    """The event sink that turns core events into messages."""
    return services(context).notifier


def user_id(update: Update) -> int:
    """The Telegram user behind an update (ValueError for updates without one, e.g. channel posts)."""
    user = update.effective_user
    if user is None:
        raise ValueError("update without a user")
    return user.id
