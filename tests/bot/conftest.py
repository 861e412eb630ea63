"""Fixtures of the bot tests: a PostgreSQL database of our own, a Dramatiq broker namespace per test.

PostgreSQL runs in test_bot_<pid> (created and dropped here), because other suites sharing
TEST_POSTGRES_URL's database drop their tables while these tests run a worker against it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from booking_core.redis_server import RedisEndpoint
from tests.conftest import service_url
from tests.flows.harness import BrokerPlan


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def bot_postgres_url() -> Iterator[str | None]:
    """A fresh database beside TEST_POSTGRES_URL's, dropped at the end; None without PostgreSQL."""
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        yield None
        return
    name = f"test_bot_{os.getpid()}"
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(False)
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, bot_postgres_url: str | None) -> str:
    """A database URL per backend: a fresh SQLite file, and our own PostgreSQL database when configured."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}"
    if bot_postgres_url is None:
        return service_url("TEST_POSTGRES_URL", "PostgreSQL")
    return bot_postgres_url


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
