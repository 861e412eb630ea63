"""The schema builds on both databases and the factory fills it."""

from sqlalchemy import func, select

from booking_core.database import SessionFactory
from booking_core.models import Seat
from tests.factories import make_show


async def test_factory_builds_a_show(sessions: SessionFactory) -> None:
    show = await make_show(sessions, rows=3, seats_per_row=4, aisle_after=2)
    async with sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Seat))
    assert count == 12
    assert len(show.seat_ids) == 12
