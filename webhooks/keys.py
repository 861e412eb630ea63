"""Typed keys of everything the web application is given by the process that builds it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import redis.asyncio as aioredis
from aiohttp import web

from booking_core.database import SessionFactory
from booking_core.payments.port import PaymentProvider
from booking_core.settings import Settings
from webhooks.miniapp.context import MiniApp


class JobQueue(Protocol):
    """How the web server hands work to the workers (implemented over Dramatiq in workers/)."""

    def send_payment_events(self, payment_event_ids: list[int]) -> None:
        """Ask workers to process stored payment events (blocking: from a worker thread)."""


SETTINGS = web.AppKey("settings", Settings)
SESSIONS = web.AppKey("sessions", SessionFactory)
REDIS = web.AppKey("redis", aioredis.Redis)
PAYMENT_PROVIDERS = web.AppKey("payment_providers", dict[str, PaymentProvider])
JOBS = web.AppKey("jobs", JobQueue)
# Async callables run before each /metrics scrape to refresh gauges read from Redis or SQL.
GAUGE_REFRESHERS = web.AppKey("gauge_refreshers", list[Callable[[], Awaitable[None]]])
# The auth token Twilio signs status callbacks with (X-Twilio-Signature): TWILIO_AUTH_TOKEN, or the
# sandbox's token when a demo runs against the local Twilio stand-in. Unset: no status callbacks.
TWILIO_AUTH_TOKEN = web.AppKey("twilio_auth_token", str)
# The seat-map Mini App's collaborators (webhooks/miniapp), when the role serves it.
MINIAPP = web.AppKey("miniapp", MiniApp)
