"""The catalogue tests use a PostgreSQL database of their own, so they never drop another area's tables."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import service_url

DATABASE_NAME = f"test_catalogue_{os.getpid()}"


async def _admin(base_url: str, statement: str) -> None:
    url = make_url(base_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def catalogue_postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at its end."""
    base_url = service_url("TEST_POSTGRES_URL", "PostgreSQL")
    asyncio.run(_admin(base_url, f'DROP DATABASE IF EXISTS "{DATABASE_NAME}"'))
    asyncio.run(_admin(base_url, f'CREATE DATABASE "{DATABASE_NAME}"'))
    yield make_url(base_url).set(database=DATABASE_NAME).render_as_string(hide_password=False)
    asyncio.run(_admin(base_url, f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """As the shared fixture, but PostgreSQL is this area's own database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}"
    url: str = request.getfixturevalue("catalogue_postgres_url")
    return url
