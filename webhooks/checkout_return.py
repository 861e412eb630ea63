"""Where the payment provider sends the customer back: /checkout/success and /checkout/cancel.

Stripe's `success_url` and `cancel_url` (adapters/payments/stripe_provider.py) point here. The page
only sends the customer back to the chat, through a t.me link once a bot process has recorded its
username; the booking is settled by the provider's webhook, never by this redirect (its `session_id`
is not read).
"""

from __future__ import annotations

import html
import logging

from aiohttp import web
from redis.exceptions import RedisError

from bot.memory.username import chat_link, recorded_username
from webhooks.keys import REDIS

log = logging.getLogger(__name__)

_STYLE = "body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem }"
SUCCESS_PATH = "/checkout/success"
CANCEL_PATH = "/checkout/cancel"

_SUCCESS = (
    "Payment received",
    "Your ticket arrives in the chat in a moment. If your seats went to someone else meanwhile, "
    "you get word of a refund there instead.",
)
_CANCEL = (
    "Checkout cancelled",
    "Nothing was charged. Your seats stay held for a few minutes: go back to the chat to pay or to "
    "choose again.",
)


async def checkout_success(request: web.Request) -> web.Response:
    """The customer paid: back to the chat, where the ticket (or word of a refund) arrives."""
    return await _page(request, *_SUCCESS)


async def checkout_cancel(request: web.Request) -> web.Response:
    """The customer left the checkout: back to the chat, nothing charged."""
    return await _page(request, *_CANCEL)


async def _page(request: web.Request, headline: str, text: str) -> web.Response:
    try:
        username = await recorded_username(request.app[REDIS])
    except (RedisError, OSError) as exc:
        log.warning("checkout return page without the bot's username: %s", exc)
        username = None
    if username is None:
        back = "<p>You can close this page and return to Telegram.</p>"
    else:
        back = f'<p><a href="{html.escape(chat_link(username))}">Back to the chat with @{username}</a></p>'
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(headline)} · Marquee</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(headline)}</h1><p>{html.escape(text)}</p>{back}</body></html>"
    )
    return web.Response(text=page, content_type="text/html")


def setup_checkout_return_routes(app: web.Application) -> None:
    """Add GET /checkout/success and /checkout/cancel (the app holds REDIS, as every web app does)."""
    app.router.add_get(SUCCESS_PATH, checkout_success)
    app.router.add_get(CANCEL_PATH, checkout_cancel)
