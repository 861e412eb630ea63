"""Running the bot inside an event loop someone else owns (the roles, the web server, the tests).

`Application.run_polling` owns its loop, so the roles use this instead: it runs the same start-up and
shutdown hooks in the same order. Polling when no webhook URL is given; otherwise the webhook is set
(with its secret token) and updates arrive through webhooks/telegram.py into the update queue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Update

from bot.context import BotApplication

# Seconds a getUpdates long poll waits for updates before asking again.
POLL_TIMEOUT = 10


@asynccontextmanager
async def running_bot(
    application: BotApplication,
    *,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    drop_pending_updates: bool = False,
) -> AsyncIterator[BotApplication]:
    """Start handling updates (polling, or a webhook when `webhook_url` is set); stop gracefully after."""
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        if webhook_url:
            await application.bot.set_webhook(
                webhook_url,
                secret_token=webhook_secret,
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=drop_pending_updates,
            )
        elif application.updater is not None:
            await application.bot.delete_webhook(drop_pending_updates=drop_pending_updates)
            await application.updater.start_polling(
                poll_interval=0, timeout=POLL_TIMEOUT, allowed_updates=Update.ALL_TYPES
            )
        await application.start()
        try:
            yield application
        finally:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
