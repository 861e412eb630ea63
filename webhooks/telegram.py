"""Telegram's webhook (webhook mode): check the secret token, drop repeats, queue the update, answer.

    POST <path of TELEGRAM_WEBHOOK_URL>   (default /webhooks/telegram)
    200 queued | duplicate (an update_id seen in the last 24 h: Telegram redelivers on slow answers)
    400 a body that is not an update; 403 a missing or wrong X-Telegram-Bot-Api-Secret-Token: nothing
    is processed; 413 body over MAX_BODY_BYTES
The update goes to the Application's update queue and is handled after the answer, concurrently with
others, so Telegram never waits on a handler.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlsplit

import orjson
from aiohttp import web
from telegram import Update

from booking_core import metrics
from bot.context import BotApplication
from bot.updates import lighter_update
from webhooks.app import MAX_BODY_BYTES, RouteGroup
from webhooks.keys import REDIS

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_PATH = "/webhooks/telegram"
METRICS_SOURCE = "telegram"
# Telegram keeps undelivered updates for at most 24 hours, so a repeat can only come within that.
SEEN_SECONDS = 24 * 3600
_SEEN_KEY = "bot:{}:update-seen:{}"

TELEGRAM_APPLICATION = web.AppKey("telegram_application", BotApplication)
TELEGRAM_WEBHOOK_SECRET = web.AppKey("telegram_webhook_secret", str)


async def telegram_update(request: web.Request) -> web.Response:
    """Receive one update: secret checked first, then de-duplicated on update_id and queued."""
    secret = request.app[TELEGRAM_WEBHOOK_SECRET]
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return _answer(403, "forbidden")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _answer(413, "too_large")
    application = request.app[TELEGRAM_APPLICATION]
    try:
        body = orjson.loads(await request.read())
        # python-telegram-bot reads anything but a JSON object with an AttributeError (answered 500).
        update = Update.de_json(lighter_update(body), application.bot) if isinstance(body, dict) else None
    except (ValueError, TypeError, KeyError, web.HTTPRequestEntityTooLarge):
        return _answer(400, "malformed")
    if update is None:
        return _answer(400, "malformed")
    # The bot's id is the token's first part (known before getMe): update ids are counted per bot.
    seen = _SEEN_KEY.format(application.bot.token.partition(":")[0], update.update_id)
    if not await request.app[REDIS].set(seen, 1, nx=True, ex=SEEN_SECONDS):
        return _answer(200, "duplicate")
    await application.update_queue.put(update)
    return _answer(200, "queued")


def _answer(status: int, outcome: str) -> web.Response:
    metrics.WEBHOOKS.labels(source=METRICS_SOURCE, outcome=outcome).inc()
    return web.json_response({"status": outcome}, status=status)


def webhook_path(webhook_url: str | None) -> str:
    """The path to serve: that of TELEGRAM_WEBHOOK_URL (behind a proxy, the public URL's path)."""
    path = urlsplit(webhook_url).path if webhook_url else ""
    return path if path and path != "/" else DEFAULT_PATH


def setup_telegram_routes(app: web.Application, webhook_url: str | None) -> None:
    """Add the webhook route; the app must hold TELEGRAM_APPLICATION and TELEGRAM_WEBHOOK_SECRET.

    The path is that of `webhook_url` (TELEGRAM_WEBHOOK_URL).
    """
    if not app.get(TELEGRAM_WEBHOOK_SECRET):
        raise ValueError("webhook mode needs TELEGRAM_WEBHOOK_SECRET: refusing to serve updates unchecked")
    app.router.add_post(webhook_path(webhook_url), telegram_update)


def telegram_routes(application: BotApplication, secret: str, webhook_url: str | None) -> RouteGroup:
    """The route group for `create_web_app(route_groups=[...])`: the Application and secret installed."""

    def setup(app: web.Application) -> None:
        app[TELEGRAM_APPLICATION] = application
        app[TELEGRAM_WEBHOOK_SECRET] = secret
        setup_telegram_routes(app, webhook_url)

    return setup
