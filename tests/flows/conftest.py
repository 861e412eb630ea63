"""Fixtures of the payment flow tests: brokers, and the Telegram stand-in.

The broker is the real Redis of the session (a namespace per test) and RabbitMQ when TEST_RABBITMQ_URL
is set (queues named per test, deleted afterwards).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from roles.redis_server import RedisEndpoint
from sandbox.telegram.app import start_telegram_sandbox
from tests.flows.harness import Flow, broker_plan, open_flow
from tests.flows.worker_setup import BrokerPlan


@pytest.fixture
def redis_broker(redis_endpoint: RedisEndpoint) -> BrokerPlan:
    """The Redis broker, under a namespace of this test's own."""
    return broker_plan("redis", redis_endpoint.url)


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest, redis_endpoint: RedisEndpoint) -> Iterator[BrokerPlan]:
    """Each broker: Redis always, RabbitMQ when TEST_RABBITMQ_URL is set (skipped otherwise, failed in CI)."""
    plan = broker_plan(request.param, redis_endpoint.url)
    yield plan
    plan.delete_rabbitmq_queues()


@pytest.fixture
async def telegram_api() -> AsyncIterator[str]:
    """The Telegram Bot API stand-in the workers' Bot talks to (it calls getMe at start-up)."""
    runner, base_url, _state = await start_telegram_sandbox()
    yield base_url
    await runner.cleanup()


@pytest.fixture
async def flow(
    engine: AsyncEngine,
    database_url: str,
    redis: Any,
    redis_endpoint: RedisEndpoint,
    redis_broker: BrokerPlan,
    telegram_api: str,
) -> AsyncIterator[Flow]:
    """Web app and a worker on the Redis broker."""
    async with open_flow(database_url, redis_endpoint.url, redis_broker, telegram_api) as flow:
        yield flow


@pytest.fixture
async def web_flow(
    engine: AsyncEngine,
    database_url: str,
    redis: Any,
    redis_endpoint: RedisEndpoint,
    redis_broker: BrokerPlan,
    telegram_api: str,
) -> AsyncIterator[Flow]:
    """The web side alone: what it stores and enqueues stays there for the test to see (no worker)."""
    async with open_flow(database_url, redis_endpoint.url, redis_broker, telegram_api, worker=False) as flow:
        yield flow
