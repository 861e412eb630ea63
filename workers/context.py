"""What an actor works with: the collaborators the worker process opened at start-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.payments import PaymentProvider
from booking_core.settings import Settings


@dataclass
class WorkerContext:
    """Shared by every actor of one worker process; built once, on the actors' event loop."""

    settings: Settings
    sessions: SessionFactory
    redis: aioredis.Redis
    payment_providers: dict[str, PaymentProvider]
    # Further collaborators (hold store, bookings, senders, the Telegram bot) by name, set by the role.
    services: dict[str, Any] = field(default_factory=dict)


# The role supplies this: it opens the context on first use, on the loop the actors run on.
ContextProvider = Callable[[], Awaitable[WorkerContext]]
