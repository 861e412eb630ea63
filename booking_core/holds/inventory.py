"""A show's inventory and hall layout read from SQL, for the hold store (InventorySource, LayoutSource)."""

from __future__ import annotations

from sqlalchemy import select

from booking_core.database import SessionFactory
from booking_core.hall_layout import HallLayout, load_hall_layout
from booking_core.holds.types import ShowInventory
from booking_core.models import BookedSeat, Seat, Show

# Layouts never change once a hall is built; remember a bounded number of them per process.
LAYOUT_CACHE_SIZE = 256


class SqlInventory:
    """InventorySource and LayoutSource over SQL: the seats of the show's hall, its booked_seats."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._layouts: dict[int, HallLayout] = {}

    async def inventory(self, show_id: int) -> ShowInventory | None:
        """The show's hall seats, sold seats, start time and sale status; None for an unknown show."""
        async with self._sessions() as session:
            show = await session.get(Show, show_id)
            if show is None:
                return None
            seats = await session.scalars(select(Seat.id).where(Seat.hall_id == show.hall_id))
            sold = await session.scalars(select(BookedSeat.seat_id).where(BookedSeat.show_id == show_id))
            return ShowInventory(
                seat_ids=frozenset(seats),
                sold_seat_ids=frozenset(sold),
                starts_at=show.starts_at,
                on_sale=show.on_sale,
                on_sale_at=show.on_sale_at,
                sale_queue=show.sale_queue,
            )

    async def layout(self, show_id: int) -> HallLayout | None:
        """The show's hall as rows (front to back) of seats ordered by column; None for an unknown show."""
        cached = self._layouts.get(show_id)
        if cached is not None:
            return cached
        async with self._sessions() as session:
            hall_id = await session.scalar(select(Show.hall_id).where(Show.id == show_id))
            layout = None if hall_id is None else await load_hall_layout(session, hall_id)
        if layout is None:
            return None
        if len(self._layouts) >= LAYOUT_CACHE_SIZE:
            self._layouts.pop(next(iter(self._layouts)))
        self._layouts[show_id] = layout
        return layout
