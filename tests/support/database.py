"""A fresh schema for a stand's database."""

from __future__ import annotations

from booking_core.database import create_engine
from booking_core.models import Base


async def fresh_schema(database_url: str) -> None:
    """Drop every table of the models and create them again, empty."""
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    await engine.dispose()
