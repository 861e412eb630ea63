"""Fixtures of the payment flow tests: our own PostgreSQL database, brokers, and the Telegram stand-in.

PostgreSQL runs in a database of our own (test_flows_<pid>), because these tests run worker
subprocesses against it and other suites sharing TEST_POSTGRES_URL's database drop their tables.
The broker is the real Redis of the session (a namespace per test) and RabbitMQ when TEST_RABBITMQ_URL
is set (queues named per test, deleted afterwards).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from booking_core.redis_server import RedisEndpoint
from sandbox.telegram.app import start_telegram_sandbox
from tests.conftest import service_url
from tests.flows.harness import broker_plan
from tests.flows.worker_setup import BrokerPlan


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def flows_postgres_url() -> Iterator[str | None]:
    """A fresh database beside TEST_POSTGRES_URL's, dropped at the end; None without PostgreSQL."""
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        yield None
        return
    name = f"test_flows_{os.getpid()}"
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(False)
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, flows_postgres_url: str | None) -> str:
    """A database URL per backend: a fresh SQLite file, and our own PostgreSQL database when configured."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}"
    if flows_postgres_url is None:
        return service_url("TEST_POSTGRES_URL", "PostgreSQL")
    return flows_postgres_url


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
