"""Bookings test fixtures: a PostgreSQL database of our own, so other suites cannot drop our tables."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
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


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def bookings_postgres_url() -> Iterator[str | None]:
    """A fresh database beside TEST_POSTGRES_URL's, dropped at the end; None without PostgreSQL."""
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        yield None
        return
    name = f"test_bookings_{os.getpid()}"
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(False)
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, bookings_postgres_url: str | None) -> str:
    """A database URL per backend: a fresh SQLite file, and our own PostgreSQL database when configured."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}"
    if bookings_postgres_url is None:
        return service_url("TEST_POSTGRES_URL", "PostgreSQL")
    return bookings_postgres_url


@pytest.fixture
def sink() -> CollectingSink:
    """The events the core published during the test."""
    return CollectingSink()


@pytest.fixture
def make_holds(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink
) -> Callable[..., HoldStore]:
    """Build a hold store over the test's Redis and database (hold_seconds and client may vary)."""

    def build(hold_seconds: int = 300, client: aioredis.Redis | None = None) -> HoldStore:
        return HoldStore(client or redis, SqlInventory(sessions), sink, hold_seconds=hold_seconds)

    return build


@pytest.fixture
def holds(make_holds: Callable[..., HoldStore]) -> HoldStore:
    """A hold store with the default five-minute holds."""
    return make_holds()
