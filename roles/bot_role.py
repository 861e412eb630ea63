"""The bot role's Application: python-telegram-bot over the core, talking to the configured Bot API."""

from __future__ import annotations

from bot.app import build_application
from bot.context import BotApplication
from bot.flood_control import RepliesFirst
from bot.notifications import TelegramNotifier
from roles.endpoints import Endpoints
from roles.resources import Core


def bot_application(
    core: Core, endpoints: Endpoints, notifier: TelegramNotifier, *, rate_limiter: RepliesFirst | None = None
) -> BotApplication:
    """The bot over `core` with `endpoints`' token and Bot API; `notifier` is the core's EventSink.

    `rate_limiter` defaults to Telegram's published figures (bot/flood_control.py).
    """
    return build_application(
        core.settings,
        core,
        token=endpoints.telegram_token,
        api_base_url=endpoints.telegram_api_base_url,
        notifier=notifier,
        rate_limiter=rate_limiter,
    )
