"""Fixtures of the bot tests: the running system, and a Dramatiq broker namespace per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from roles.redis_server import RedisEndpoint
from tests.bot.harness import BotWorld, open_world
from tests.conftest import service_url
from tests.flows.harness import BrokerPlan


@pytest.fixture
async def world(
    engine: AsyncEngine, database_url: str, redis_endpoint: RedisEndpoint, redis: object
) -> AsyncIterator[BotWorld]:
    """The bot, the web app with the Mini App, and the sandbox Bot API (no worker), over an empty database
    and Redis."""
    async with open_world(database_url, redis_endpoint.url) as running:
        yield running


@pytest.fixture
def broker(redis_endpoint: RedisEndpoint) -> BrokerPlan:
    """The Redis broker of the test session, under a namespace of this test's own."""
    return BrokerPlan(url=redis_endpoint.url, namespace=f"marquee-bot-test-{uuid.uuid4().hex[:10]}")


@pytest.fixture(params=["redis", "rabbitmq"])
def each_broker(request: pytest.FixtureRequest, redis_endpoint: RedisEndpoint) -> Iterator[BrokerPlan]:
    """Each broker: Redis always, RabbitMQ when TEST_RABBITMQ_URL is set (skipped otherwise, failed in CI)."""
    run = uuid.uuid4().hex[:10]
    if request.param == "redis":
        yield BrokerPlan(url=redis_endpoint.url, namespace=f"marquee-bot-test-{run}")
        return
    plan = BrokerPlan(url=service_url("TEST_RABBITMQ_URL", "RabbitMQ"), queue_suffix=f"-bot-test-{run}")
    yield plan
    plan.delete_rabbitmq_queues()
