"""Fixtures of the ops tests: one `sandbox` process for the session, and services of each test's own.

Shared servers come from TEST_POSTGRES_URL, TEST_REDIS_URL and TEST_RABBITMQ_URL (skipped on a laptop
without them, failing in CI); servers a test stops on purpose are private ones it starts itself.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from roles.migrate import upgrade_to_head
from tests.conftest import IN_CI, service_url
from tests.ops.deployment import Sandbox, Services
from tests.ops.roles import START_WITHIN_SECONDS, role_environment, start_role
from tests.ops.services import (
    PrivatePostgres,
    PrivateRedis,
    claim_redis_db,
    create_database,
    create_vhost,
    delete_vhost,
    drop_database,
    free_port,
    postgres_binaries,
    rabbitmq_available,
    release_redis_db,
)
from tests.support.dropping import drop_later


def _unavailable(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what}: CI must run the ops tests")
    pytest.skip(f"ops test not run: {what}")


def _wait_serving(process_sandbox: Sandbox) -> None:
    deadline = time.monotonic() + START_WITHIN_SECONDS
    while True:
        if not process_sandbox.process.alive():
            raise AssertionError(f"the sandbox process exited:\n{process_sandbox.process.log()}")
        try:
            with urllib.request.urlopen(process_sandbox.url + "/", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the sandbox process never served")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """`python main.py sandbox`: the Telegram, Twilio and SMTP stand-ins, one process for every test."""
    port = free_port(pair=True)
    env = role_environment(SANDBOX_PORT=port)
    running = Sandbox(port, start_role("sandbox", "sandbox", env, tmp_path_factory.mktemp("sandbox")))
    try:
        _wait_serving(running)
        yield running
    finally:
        running.process.terminate()
        running.process.wait_stopped()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client for the test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def shared_postgres() -> AsyncIterator[str]:
    """A fresh, migrated database on TEST_POSTGRES_URL's server, dropped afterwards (off the tests' path)."""
    url = await create_database(service_url("TEST_POSTGRES_URL", "PostgreSQL"))
    try:
        await asyncio.to_thread(upgrade_to_head, url)
        yield url
    finally:
        drop_later(functools.partial(drop_database, url))


@pytest.fixture
async def ops_database(tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated database: on TEST_POSTGRES_URL's server when there is one, else a SQLite file."""
    if not (os.environ.get("TEST_POSTGRES_URL") or IN_CI):
        url = f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}"
        await asyncio.to_thread(upgrade_to_head, url)
        yield url
        return
    url = await create_database(service_url("TEST_POSTGRES_URL", "PostgreSQL"))
    try:
        await asyncio.to_thread(upgrade_to_head, url)
        yield url
    finally:
        drop_later(functools.partial(drop_database, url))


@pytest.fixture
def shared_redis() -> Iterator[str]:
    """A Redis db number of our own on TEST_REDIS_URL's server, emptied afterwards."""
    url = claim_redis_db(service_url("TEST_REDIS_URL", "an external Redis"))
    try:
        yield url
    finally:
        release_redis_db(url)


@pytest.fixture
def rabbitmq() -> Iterator[str]:
    """A vhost of our own on TEST_RABBITMQ_URL's broker (the roles' queue names are fixed), deleted after."""
    server = service_url("TEST_RABBITMQ_URL", "RabbitMQ")
    if not rabbitmq_available():
        _unavailable("rabbitmqctl is not installed, so no vhost can be made")
    url = create_vhost(server)
    try:
        yield url
    finally:  # rabbitmqctl takes seconds: the vhost is deleted while the next tests run
        drop_later(functools.partial(asyncio.to_thread, delete_vhost, url))


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of the test's own on a fixed port (append-only file in tmp_path)."""
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def services(shared_postgres: str, private_redis: PrivateRedis) -> Services:
    """The roles' state on a fresh database and the test's own Redis, which is their broker too."""
    return Services(shared_postgres, private_redis.url)


@pytest.fixture
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    """A PostgreSQL cluster of the test's own, started and migrated; removed afterwards."""
    binaries = postgres_binaries()
    if binaries is None:
        _unavailable("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
        raise AssertionError("unreachable")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _unavailable("running as root without runuser: PostgreSQL cannot be started as `postgres`")
    server = PrivatePostgres(binaries)
    try:
        await asyncio.to_thread(server.initdb)
        await asyncio.to_thread(server.start)
        await asyncio.to_thread(upgrade_to_head, server.url)
        yield server
    finally:
        await asyncio.to_thread(server.remove)
