"""A hall's layout: its rows of seats, front to back, each seat with its label, number, column and
category; read from SQL by `load_hall_layout`. The catalogue answers it (to draw seat maps) and the
hold store chooses adjacent seats over it (booking_core/holds/best_seats.py): one type for both."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking_core.models import Hall, Seat


@dataclass(frozen=True)
class LayoutSeat:
    """A seat as drawn on the map: `column` counts gaps, so aisles show where columns are skipped."""

    id: int
    label: str
    number: int
    column: int
    category: str


@dataclass(frozen=True)
class LayoutRow:
    """A row of a hall; index 0 is the row nearest the screen."""

    index: int
    label: str
    seats: tuple[LayoutSeat, ...]


@dataclass(frozen=True)
class HallLayout:
    """The seats of a hall, rows from the screen backwards, each row left to right."""

    hall_id: int
    hall_name: str
    rows: tuple[LayoutRow, ...]

    @property
    def width(self) -> int:
        """The number of columns, gaps included."""
        return max((seat.column for row in self.rows for seat in row.seats), default=0)

    @property
    def seat_count(self) -> int:
        """How many seats the hall has."""
        return sum(len(row.seats) for row in self.rows)

    @cached_property
    def categories(self) -> tuple[str, ...]:
        """The seat categories in the hall, sorted (worked out once: a layout does not change)."""
        return tuple(sorted({seat.category for row in self.rows for seat in row.seats}))


async def load_hall_layout(session: AsyncSession, hall_id: int) -> HallLayout | None:
    """A hall's seats as its layout (rows from the screen back, each by column); None for no such hall."""
    hall = await session.get(Hall, hall_id)
    if hall is None:
        return None
    seats = await session.scalars(
        select(Seat).where(Seat.hall_id == hall_id).order_by(Seat.row_index, Seat.column)
    )
    rows = []
    for row_index, group in groupby(seats, _row_index):
        row_seats = list(group)
        layout_seats = tuple(LayoutSeat(s.id, s.label, s.number, s.column, s.category) for s in row_seats)
        rows.append(LayoutRow(row_index, row_seats[0].row_label, layout_seats))
    return HallLayout(hall_id=hall.id, hall_name=hall.name, rows=tuple(rows))


def _row_index(seat: Seat) -> int:
    return seat.row_index
