"""The test schema's reset (tests/support/database.py) leaves what a rebuild would, so tests stay apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.database import create_engine
from booking_core.models import Base, City
from tests.support.database import reset_schema


async def _add_city(engine: AsyncEngine, name: str = "Berlin") -> int:
    async with engine.begin() as connection:
        added = await connection.execute(
            City.__table__.insert()
            .values(name=name, latitude=52.5, longitude=13.4, timezone="Europe/Berlin")
            .returning(City.id)
        )
        return int(added.scalar_one())


async def test_a_reset_empties_the_tables_and_starts_ids_again(engine: AsyncEngine) -> None:
    # Given a schema with rows in it, whose ids have moved on
    await _add_city(engine, "Berlin")
    await _add_city(engine, "Hamburg")
    # When it is reset
    await reset_schema(engine)
    # Then no row is left, and the next row gets the first id, as on a new schema
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(City)) == 0
    assert await _add_city(engine) == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_schema_a_test_changed_is_built_again(engine: AsyncEngine) -> None:
    # Given a test that dropped a constraint (as the controls of the race tests do)
    async with engine.begin() as connection:
        await connection.execute(text("ALTER TABLE cities DROP CONSTRAINT uq_cities_name"))
    await _add_city(engine)
    await _add_city(engine)
    # When the schema is reset for the next test
    await reset_schema(engine)
    # Then the constraint is back
    await _add_city(engine)
    with pytest.raises(IntegrityError):
        await _add_city(engine)


async def _sqlite_schema(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    async with engine.connect() as connection:
        found = await connection.execute(text("SELECT type, name, sql FROM sqlite_master ORDER BY name"))
        return [tuple(row) for row in found]


async def test_a_new_sqlite_file_gets_what_create_all_builds(tmp_path: Path) -> None:
    # Given a SQLite file built by create_all, and a new one given its tables by the reset (a copy)
    built = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'built.db'}")
    reset = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'reset.db'}")
    try:
        async with built.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        await reset_schema(reset)
        # Then both hold the same tables, indexes and triggers, and the reset one is empty and writable
        assert await _sqlite_schema(reset) == await _sqlite_schema(built)
        assert await _add_city(reset) == 1
    finally:
        await built.dispose()
        await reset.dispose()
