"""The outside world on this machine: Telegram, Twilio, Stripe and SMTP stand-ins behind one sandbox server.

`python main.py run` serves them inside its process; `python main.py sandbox` serves them alone, so a
scaled-out set of processes (several `web`, `worker`, `bot`) can share one offline world. The Stripe
stand-in (sandbox/stripe_api.py, under /stripe) is what the real Stripe adapter talks to in a demo:
its API, its hosted checkout pages, and its signed webhooks back to Marquee.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from roles.endpoints import LOOPBACK, STRIPE_STANDIN_PATH, SandboxUrls
from roles.ports import port_of
from roles.settings import MarqueeSettings
from sandbox.mailbox import setup_mailbox_pages, start_mailbox
from sandbox.stripe_api import StripeSandboxState, create_stripe_sandbox_app
from sandbox.telegram import TelegramSandbox, install_telegram_sandbox
from sandbox.telegram.app import MAX_UPLOAD_BYTES
from sandbox.twilio_api import TwilioSandboxState, setup_twilio_sandbox

# The stand-ins' requests in flight get this long to finish when the demo stops (a browser's long poll
# would otherwise hold the stop for aiohttp's default minute).
STAND_IN_GRACE_SECONDS = 2.0

PAGES = (
    ("/sandbox/telegram/chat", "Web chat: talk to the bot as simulated Telegram users"),
    ("/sandbox/sms.html", "Text messages sent through the Twilio stand-in"),
    ("/sandbox/mail.html", "Emails received by the SMTP stand-in"),
)


async def _index(_request: web.Request) -> web.Response:
    links = "".join(f'<li><a href="{path}">{html.escape(text)}</a></li>' for path, text in PAGES)
    body = f"<!doctype html><title>Marquee sandbox</title><h1>Marquee sandbox</h1><ul>{links}</ul>"
    return web.Response(text=body, content_type="text/html")


def stripe_standin(settings: MarqueeSettings) -> StripeSandboxState:
    """The Stripe stand-in's account: STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET when set, else new ones.

    Generated per start, never published: nobody can sign a payment to this demo who has not read them.
    """
    return StripeSandboxState(
        api_key=settings.STRIPE_API_KEY or f"sk_test_{secrets.token_hex(16)}",
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET or f"whsec_{secrets.token_hex(24)}",
    )


def paying_through(settings: MarqueeSettings, stripe: StripeSandboxState) -> MarqueeSettings:
    """`settings` with the Stripe adapter pointed at the stand-in `stripe` served by this process."""
    return settings.model_copy(
        update={
            "PAYMENT_PROVIDER": "stripe",
            "STRIPE_API_KEY": stripe.api_key,
            "STRIPE_WEBHOOK_SECRET": stripe.webhook_secret,
            "STRIPE_API_BASE": SandboxUrls.on_ports(settings).stripe_api,
        }
    )


@asynccontextmanager
async def serving_sandboxes(
    settings: MarqueeSettings, stripe: StripeSandboxState | None = None
) -> AsyncIterator[tuple[SandboxUrls, TelegramSandbox]]:
    """Serve the stand-ins on loopback, SANDBOX_PORT (SMTP on the next port), until the block ends.

    The Stripe stand-in is served only when given: a demo paying through real Stripe test keys runs none.
    """
    urls = SandboxUrls.on_ports(settings)
    telegram = TelegramSandbox()
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
    app.router.add_get("/", _index)
    install_telegram_sandbox(app, telegram)
    setup_twilio_sandbox(app, TwilioSandboxState())
    if stripe is not None:
        stripe.base_url = urls.stripe_api
        app.add_subapp(STRIPE_STANDIN_PATH, create_stripe_sandbox_app(stripe))
    with port_of("SANDBOX_PORT", LOOPBACK, settings.SANDBOX_PORT + 1):
        mailbox = start_mailbox(port=settings.SANDBOX_PORT + 1)
    setup_mailbox_pages(app, mailbox)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=STAND_IN_GRACE_SECONDS)
    await runner.setup()
    try:
        with port_of("SANDBOX_PORT", LOOPBACK, settings.SANDBOX_PORT):
            await web.TCPSite(runner, LOOPBACK, settings.SANDBOX_PORT).start()
        yield urls, telegram
    finally:
        await runner.cleanup()
        mailbox.stop()
