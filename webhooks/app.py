"""The aiohttp application factory: one app, routes grouped by who calls them."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable

import redis.asyncio as aioredis
from aiohttp import web

from booking_core.database import SessionFactory
from booking_core.log_context import correlation_id
from booking_core.payments.port import PaymentProvider
from booking_core.settings import Settings
from webhooks.health import setup_health_routes
from webhooks.keys import GAUGE_REFRESHERS, JOBS, PAYMENT_PROVIDERS, REDIS, SESSIONS, SETTINGS, JobQueue

# Webhook bodies are small JSON or form posts; anything larger is refused before it is read.
MAX_BODY_BYTES = 64 * 1024

RouteGroup = Callable[[web.Application], None]
REQUEST_ID_HEADER = "X-Request-Id"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_id(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Log every line of a request under its id (the caller's X-Request-Id, or a new one) and echo it."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    value = given if 0 < len(given) <= 64 and given.isprintable() else uuid.uuid4().hex[:16]
    token = correlation_id.set(value)
    try:
        response = await handler(request)
    finally:
        correlation_id.reset(token)
    response.headers[REQUEST_ID_HEADER] = value
    return response


def create_web_app(
    *,
    settings: Settings,
    sessions: SessionFactory,
    redis: aioredis.Redis,
    payment_providers: dict[str, PaymentProvider],
    jobs: JobQueue,
    route_groups: Iterable[RouteGroup] = (),
) -> web.Application:
    """Build the web application; health routes always, the other groups as the role asks."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[request_id])
    app[SETTINGS] = settings
    app[SESSIONS] = sessions
    app[REDIS] = redis
    app[PAYMENT_PROVIDERS] = payment_providers
    app[JOBS] = jobs
    app[GAUGE_REFRESHERS] = []
    setup_health_routes(app)
    for setup_routes in route_groups:
        setup_routes(app)
    return app
