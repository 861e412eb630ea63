"""Operators' view: /healthz names what is down, and log lines carry the request's id."""

from __future__ import annotations

import io
import json
import logging

import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from booking_core.database import SessionFactory, create_engine, create_session_factory
from roles.logging_setup import configure_logging
from roles.settings import load_settings
from webhooks.app import create_web_app


class _NoJobs:
    def send_payment_events(self, payment_event_ids: list[int]) -> None:
        raise AssertionError("health checks enqueue nothing")


def _app(sessions: SessionFactory, redis: aioredis.Redis) -> TestClient:  # type: ignore[type-arg]
    app = create_web_app(
        settings=load_settings(),
        sessions=sessions,
        redis=redis,
        payment_providers={},
        jobs=_NoJobs(),
    )
    return TestClient(TestServer(app))


async def test_healthz_is_ok_when_database_and_redis_answer(
    sessions: SessionFactory, redis: aioredis.Redis
) -> None:
    async with _app(sessions, redis) as client:
        response = await client.get("/healthz")
        assert response.status == 200
        assert await response.json() == {"database": "ok", "redis": "ok"}
        assert len(response.headers["X-Request-Id"]) == 16


async def test_a_database_down_is_named_and_logged_under_the_request_id(redis: aioredis.Redis) -> None:
    # Given a database nobody listens for, and JSON logs,
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none")
    stream = io.StringIO()
    configure_logging("json")
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        async with _app(create_session_factory(engine), redis) as client:
            # when a load balancer asks with its own request id,
            response = await client.get("/healthz", headers={"X-Request-Id": "lb-check-7"})
            body = await response.json()
    finally:
        await engine.dispose()
        logging.getLogger().handlers.clear()
    # then the answer names the database, and the warning carries the id.
    assert response.status == 503
    assert body == {"database": "down", "redis": "ok"}
    assert response.headers["X-Request-Id"] == "lb-check-7"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    warning = next(line for line in lines if "database down" in line["message"])
    assert warning["correlation_id"] == "lb-check-7"
    assert warning["level"] == "WARNING"
