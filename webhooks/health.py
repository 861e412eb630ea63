"""Routes for load balancers and Prometheus: /healthz and /metrics."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text

from booking_core import metrics as marquee_metrics
from booking_core.tickets.outbox import failed_notification_counts
from webhooks.keys import GAUGE_REFRESHERS, REDIS, SESSIONS

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0


async def healthz(request: web.Request) -> web.Response:
    """200 when the database and Redis answer, 503 naming the one that does not."""
    checks = {"database": _database_ok(request), "redis": _redis_ok(request)}
    results = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
    status = 200 if all(results.values()) else 503
    return web.json_response({name: "ok" if ok else "down" for name, ok in results.items()}, status=status)


async def _database_ok(request: web.Request) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), request.app[SESSIONS]() as session:
            await session.execute(text("SELECT 1"))
        return True
    except Exception:
        log.warning("health check: database down", exc_info=True)
        return False


async def _redis_ok(request: web.Request) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return bool(await request.app[REDIS].ping())
    except Exception:
        log.warning("health check: redis down", exc_info=True)
        return False


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition, with gauges refreshed from Redis and SQL first."""
    for refresh in request.app.get(GAUGE_REFRESHERS, []):
        try:
            await refresh()
        except Exception:
            log.warning("metrics: a gauge could not be refreshed", exc_info=True)
    response = web.Response(body=generate_latest(REGISTRY))
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


def setup_health_routes(app: web.Application) -> None:
    """Add /healthz and /metrics, with the outbox's failed rows among its gauges."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)

    async def refresh_failed_notifications() -> None:
        for channel, count in (await failed_notification_counts(app[SESSIONS])).items():
            marquee_metrics.NOTIFICATIONS_FAILED.labels(channel=channel).set(count)

    app[GAUGE_REFRESHERS].append(refresh_failed_notifications)
