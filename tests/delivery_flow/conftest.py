"""Fixtures of the delivery flow tests: a broker per kind, and the whole stand.

The broker is the embedded (or TEST_REDIS_URL) Redis, and RabbitMQ too when TEST_RABBITMQ_URL is set
(skipped on a laptop, failing in CI).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from roles.redis_server import RedisEndpoint
from tests.conftest import service_url
from tests.delivery_flow.stand import Stand, open_stand


@pytest.fixture
def broker_url(redis_endpoint: RedisEndpoint) -> str:
    """The Dramatiq broker of most tests: the test Redis."""
    return redis_endpoint.url


@pytest.fixture
async def stand(
    engine: AsyncEngine,
    redis: aioredis.Redis,
    redis_endpoint: RedisEndpoint,
    broker_url: str,
    database_url: str,
) -> AsyncIterator[Stand]:
    """Sandboxes, the web app, the core and a broker, wired by roles.resources; the schema is `engine`'s."""
    async with open_stand(database_url, redis_endpoint.url, broker_url) as opened:
        yield opened


def both_brokers(request: pytest.FixtureRequest, redis_endpoint: RedisEndpoint) -> str:
    """For tests parametrized over the broker kind: Redis, or RabbitMQ when configured."""
    if request.param == "redis":
        return redis_endpoint.url
    return service_url("TEST_RABBITMQ_URL", "RabbitMQ")
