"""Fixtures of the payment flow tests: brokers, and the Telegram stand-in.

The broker is the real Redis of the session (a namespace per test) and RabbitMQ when TEST_RABBITMQ_URL
is set (queues named per test, deleted afterwards).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from roles.redis_server import RedisEndpoint
from sandbox.telegram.app import start_telegram_sandbox
from tests.flows.harness import Flow, FlowOpener, broker_plan, open_flow
from tests.flows.worker_setup import BrokerPlan


@pytest.fixture
def open_test_flow(
    engine: AsyncEngine, database_url: str, redis: Any, redis_endpoint: RedisEndpoint, telegram_api: str
) -> FlowOpener:
    """`open_flow` on a fresh schema (`engine`), empty Redis (`redis`) and this test's Telegram stand-in."""
    return functools.partial(open_flow, database_url, redis_endpoint.url, telegram_api=telegram_api)


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
async def flow(open_test_flow: FlowOpener, redis_broker: BrokerPlan) -> AsyncIterator[Flow]:
    """Web app and a worker on the Redis broker."""
    async with open_test_flow(redis_broker) as flow:
        yield flow
