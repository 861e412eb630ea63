"""The worker side of a test stand: the core and a worker context over it, opened as the worker role does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import dramatiq

from booking_core.events import EventSink
from booking_core.settings import Settings
from roles.resources import Core, open_core, open_worker_context
from workers.context import WorkerContext


@asynccontextmanager
async def open_worker_side(
    settings: Settings,
    events: EventSink,
    *,
    telegram_token: str,
    telegram_api_base_url: str,
    twilio_api_base_url: str | None = None,
    redis_url: str | None = None,
    broker: dramatiq.Broker | None = None,
) -> AsyncIterator[tuple[Core, WorkerContext]]:
    """Open the core (on `redis_url`, else REDIS_URL) publishing to `events`, and the actors' senders."""
    url = redis_url or settings.REDIS_URL
    assert url is not None, "a test stand needs a Redis URL"
    async with (
        open_core(settings, url, events) as core,
        open_worker_context(
            core,
            telegram_token=telegram_token,
            telegram_api_base_url=telegram_api_base_url,
            twilio_api_base_url=twilio_api_base_url,
            smtp_url=settings.SMTP_URL or "",
            broker=broker,
        ) as context,
    ):
        yield core, context
