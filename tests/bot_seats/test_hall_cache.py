"""The halls of shows the seat map is drawn from (bot/seat_map/halls.py): read from the catalogue, and
built again (blocks, buttons) only when the catalogue answers something else."""

from __future__ import annotations

import redis.asyncio as aioredis
from sqlalchemy import update

from booking_core.catalogue import CatalogueQueries
from booking_core.database import SessionFactory
from booking_core.models import Hall
from bot.seat_map.halls import HallCache
from bot.seat_map.screen import show_hall
from tests.factories import make_show


async def test_a_hall_is_built_again_only_when_the_catalogue_changes(
    sessions: SessionFactory, redis: aioredis.Redis
) -> None:
    show = await make_show(sessions, rows=3, seats_per_row=6)
    queries = CatalogueQueries(sessions, redis)
    # A cache that reads the catalogue on every request
    halls = HallCache(queries, show_hall, keep_seconds=0)
    await halls.hall(show.show_id)  # computed, and cached as JSON by the catalogue
    first = await halls.hall(show.show_id)
    assert first is not None
    # When the catalogue answers the same show and hall again (parsed once from its cache), the hall
    # built before serves
    assert await halls.hall(show.show_id) is first
    # When the hall is renamed (and the catalogue's cache invalidated, as an import does)
    async with sessions() as session:
        await session.execute(update(Hall).where(Hall.id == first.details.hall_id).values(name="Saal 9"))
        await session.commit()
    await queries.invalidate()
    # Then the next request builds the hall from what the catalogue says now
    renamed = await halls.hall(show.show_id)
    assert renamed is not None and renamed is not first
    assert renamed.details.hall_name == "Saal 9"
