"""The outside world on this machine: Telegram, Twilio and SMTP stand-ins behind one sandbox server.

`python main.py run` serves them inside its process; `python main.py sandbox` serves them alone, so a
scaled-out set of processes (several `web`, `worker`, `bot`) can share one offline world.
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from booking_core.settings import Settings
from roles.endpoints import LOOPBACK, SandboxUrls
from roles.ports import port_of
from sandbox.mailbox import setup_mailbox_pages, start_mailbox
from sandbox.telegram import TelegramSandbox, install_telegram_sandbox
from sandbox.telegram.app import MAX_UPLOAD_BYTES
from sandbox.twilio_api import TwilioSandboxState, setup_twilio_sandbox

PAGES = (
    ("/sandbox/telegram/chat", "Web chat: talk to the bot as simulated Telegram users"),
    ("/sandbox/sms.html", "Text messages sent through the Twilio stand-in"),
    ("/sandbox/mail.html", "Emails received by the SMTP stand-in"),
)


async def _index(_request: web.Request) -> web.Response:
    links = "".join(f'<li><a href="{path}">{html.escape(text)}</a></li>' for path, text in PAGES)
    body = f"<!doctype html><title>Marquee sandbox</title><h1>Marquee sandbox</h1><ul>{links}</ul>"
    return web.Response(text=body, content_type="text/html")


@asynccontextmanager
async def serving_sandboxes(settings: Settings) -> AsyncIterator[tuple[SandboxUrls, TelegramSandbox]]:
    """Serve the stand-ins on loopback, SANDBOX_PORT (SMTP on the next port), until the block ends."""
    urls = SandboxUrls.on_ports(settings)
    telegram = TelegramSandbox()
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
    app.router.add_get("/", _index)
    install_telegram_sandbox(app, telegram)
    setup_twilio_sandbox(app, TwilioSandboxState())
    with port_of("SANDBOX_PORT", LOOPBACK, settings.SANDBOX_PORT + 1):
        mailbox = start_mailbox(port=settings.SANDBOX_PORT + 1)
    setup_mailbox_pages(app, mailbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        with port_of("SANDBOX_PORT", LOOPBACK, settings.SANDBOX_PORT):
            await web.TCPSite(runner, LOOPBACK, settings.SANDBOX_PORT).start()
        yield urls, telegram
    finally:
        await runner.cleanup()
        mailbox.stop()
