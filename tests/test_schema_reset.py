"""The test schema's reset (tests/support/database.py) leaves what a rebuild would, so tests stay apart."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.models import City
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
