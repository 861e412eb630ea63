"""Assembling the Telegram sandbox: an aiohttp application, and a runner for tests and local use."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from sandbox.telegram.api import add_bot_api_routes
from sandbox.telegram.client_api import add_client_routes
from sandbox.telegram.keys import SANDBOX
from sandbox.telegram.state import TelegramSandbox
from sandbox.telegram.webhook import WebhookPusher

# Telegram takes photos up to 10 MB and documents up to 50 MB from bots; aiohttp's default is 1 MiB.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def install_telegram_sandbox(app: web.Application, state: TelegramSandbox) -> None:
    """Add the sandbox's routes, state and webhook pusher to an existing application.

    Give that application `client_max_size=MAX_UPLOAD_BYTES` if the bot uploads large files.
    """
    app[SANDBOX] = state
    add_bot_api_routes(app)
    add_client_routes(app)
    app.cleanup_ctx.append(_webhook_pusher)
    app.on_shutdown.append(_release_waiters)


def create_telegram_sandbox_app(state: TelegramSandbox | None = None) -> web.Application:
    """A stand-alone application serving the Bot API and the user side (mountable as a sub-app)."""
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
    install_telegram_sandbox(app, state or TelegramSandbox())
    return app


async def _webhook_pusher(app: web.Application) -> AsyncIterator[None]:
    state = app[SANDBOX]
    state.updates.closing = False
    async with aiohttp.ClientSession() as session:
        task = asyncio.create_task(WebhookPusher(state, session).run(), name="telegram-sandbox-webhook")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _release_waiters(app: web.Application) -> None:
    # Long polls would otherwise hold the shutdown for their whole timeout.
    app[SANDBOX].release_waiters()


async def start_telegram_sandbox(
    host: str = "127.0.0.1", port: int = 0, state: TelegramSandbox | None = None
) -> tuple[web.AppRunner, str, TelegramSandbox]:
    """Serve a sandbox on host:port (0 picks a free port); returns the runner, its base URL and its state."""
    state = state or TelegramSandbox()
    runner = web.AppRunner(create_telegram_sandbox_app(state), shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = runner.addresses[0][1]
    return runner, f"http://{host}:{bound_port}", state
