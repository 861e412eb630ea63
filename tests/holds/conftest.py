"""Fixtures of the seat-hold tests: a hold store on real Redis over a real SQL catalogue, a fake clock.

PostgreSQL runs in a database of our own (test_holds), created for the session and dropped after it,
so that other suites sharing TEST_POSTGRES_URL's database cannot drop our tables mid-test.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.holds import HoldStore
from booking_core.inventory import SqlInventory
from tests.conftest import service_url

OWN_DATABASE = "test_holds"


class FakeClock:
    """A clock the test moves by hand (seconds since the epoch, starting at the real time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


async def _admin(url: str, statement: str) -> None:
    parts = make_url(url)
    connection = await asyncpg.connect(
        host=parts.host,
        port=parts.port,
        user=parts.username,
        password=parts.password,
        database=parts.database,
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def own_postgres_url() -> Iterator[str | None]:
    """TEST_POSTGRES_URL pointed at a database of our own, created now and dropped at the end."""
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        yield None
        return
    asyncio.run(_admin(url, f"DROP DATABASE IF EXISTS {OWN_DATABASE} WITH (FORCE)"))
    asyncio.run(_admin(url, f"CREATE DATABASE {OWN_DATABASE}"))
    yield make_url(url).set(database=OWN_DATABASE).render_as_string(hide_password=False)
    asyncio.run(_admin(url, f"DROP DATABASE IF EXISTS {OWN_DATABASE} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, own_postgres_url: str | None) -> str:
    """A fresh SQLite file, and our own PostgreSQL database when TEST_POSTGRES_URL is set."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}"
    service_url("TEST_POSTGRES_URL", "PostgreSQL")
    assert own_postgres_url is not None
    return own_postgres_url


@pytest.fixture
def clock() -> FakeClock:
    """Time that moves only when the test says so."""
    return FakeClock()


@pytest.fixture
def sink() -> CollectingSink:
    """The events the core published, in order."""
    return CollectingSink()


@pytest.fixture
def inventory(sessions: SessionFactory) -> SqlInventory:
    """The SQL inventory and layout source."""
    return SqlInventory(sessions)


@pytest.fixture
async def store(
    redis: aioredis.Redis, inventory: SqlInventory, sink: CollectingSink, clock: FakeClock
) -> AsyncIterator[HoldStore]:
    """A hold store with the fake clock: holds last 300 s, offers 120 s, 10 seats, 60 attempts a minute."""
    yield HoldStore(redis, inventory, sink, clock=clock)
