"""Fixtures of the bot tests: a Dramatiq broker namespace per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from roles.redis_server import RedisEndpoint
from tests.conftest import service_url
from tests.flows.harness import BrokerPlan


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
