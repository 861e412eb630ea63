"""Migrations build the schema on both databases, and they agree with the models."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from booking_core.database import create_engine
from booking_core.models import Base
from roles.migrate import upgrade_to_head
from tests.conftest import service_url


async def _fresh_postgres_database(name: str) -> str:
    admin_url = make_url(service_url("TEST_POSTGRES_URL", "PostgreSQL"))
    admin = create_engine(admin_url.render_as_string(hide_password=False))
    async with admin.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no tables at all, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    else:
        yield await _fresh_postgres_database("marquee_migrations_test")


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_build_exactly_the_models(empty_database_url: str) -> None:
    # Given an empty database, when it is migrated to head,
    await asyncio.to_thread(upgrade_to_head, empty_database_url)
    # then autogenerate finds nothing left to change,
    engine = create_engine(empty_database_url)
    async with engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
    await engine.dispose()
    # and migrating again is a no-op.
    await asyncio.to_thread(upgrade_to_head, empty_database_url)


async def test_comparison_catches_a_model_the_migrations_lack(tmp_path: Path) -> None:
    # The check above can fail: a database built without one table shows a difference.
    url = f"sqlite+aiosqlite:///{tmp_path / 'partial.db'}"
    engine = create_engine(url)
    tables = [table for name, table in Base.metadata.tables.items() if name != "notifications"]
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: Base.metadata.create_all(sync, tables=tables))
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    await engine.dispose()
    assert any("notifications" in repr(difference) for difference in differences)
