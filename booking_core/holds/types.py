"""The words of seat holding (DESIGN.md section 3): holds and what the hold store needs to know about
a show (its refusals are in `booking_core.holds.errors`). Re-exported by `booking_core.holds.store`;
kept apart so every hold module can use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from booking_core.hall_layout import HallLayout


@dataclass(frozen=True)
class Hold:
    """Seats of one show held for one user until `expires_at`."""

    token: str
    show_id: int
    user_id: int
    seat_ids: tuple[int, ...]
    expires_at: datetime
    is_offer: bool = False


@dataclass(frozen=True)
class ShowInventory:
    """What the hold script must know about a show, read from SQL."""

    seat_ids: frozenset[int]
    sold_seat_ids: frozenset[int]
    starts_at: datetime
    on_sale: bool
    on_sale_at: datetime | None = None  # no hold before it
    sale_queue: bool = (
        False  # from on_sale_at, only people whose turn it is may hold (booking_core.holds.sale_queue)
    )


class InventorySource(Protocol):
    """Reads a show's inventory from the source of truth (SQL: booking_core.holds.inventory.SqlInventory)."""

    async def inventory(self, show_id: int) -> ShowInventory | None:
        """The show's seats, sold seats, start and sale status; None for an unknown show."""


@runtime_checkable
class LayoutSource(Protocol):
    """Reads a show's hall layout, for choosing adjacent seats (SqlInventory implements it too)."""

    async def layout(self, show_id: int) -> HallLayout | None:
        """The hall's rows of seats, front to back; None for an unknown show."""


def to_ms(moment: datetime) -> int:
    """An aware datetime as integer ms since the epoch."""
    return int(moment.timestamp() * 1000)


def from_ms(value: int | str) -> datetime:
    """Integer ms since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def parse_hold(show_id: int, token: str, record: str) -> Hold:
    """A hold from its Redis record "user|expires_ms|offered|s1,s2" (format of `_lib.lua`)."""
    user, expires_ms, offered, seats = record.split("|", 3)
    return Hold(
        token=token,
        show_id=show_id,
        user_id=int(user),
        seat_ids=tuple(sorted(int(seat) for seat in seats.split(",") if seat)),
        expires_at=from_ms(expires_ms),
        is_offer=int(offered) > 0,
    )
