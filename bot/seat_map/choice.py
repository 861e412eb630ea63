"""Choosing seats on the map: the pure decisions behind a tap (toggle, best seats, stranding warning)."""

from __future__ import annotations

from collections.abc import Sequence

from booking_core.hall_layout import HallLayout
from booking_core.holds import best_seats
from booking_core.holds.seat_map import SeatMap, SeatState


def best_for(layout: HallLayout, seat_map: SeatMap, count: int) -> tuple[int, ...] | None:
    """The best `count` free seats side by side for this user (their own seats count as free)."""
    return best_seats.best_block(layout, seat_map.taken_by_others, count)


def free_seats(seat_map: SeatMap) -> int:
    """How many seats anyone may pick now."""
    return sum(1 for state in seat_map.states.values() if state == SeatState.FREE)


def free_seats_not_wheelchair(layout: HallLayout, seat_map: SeatMap) -> int:
    """How many seats anyone may pick now, wheelchair spaces left out (the waitlist never offers them)."""
    wheelchair = [
        seat.id for row in layout.rows for seat in row.seats if seat.category == best_seats.WHEELCHAIR
    ]
    return free_seats(seat_map) - sum(1 for seat in wheelchair if seat_map.states.get(seat) == SeatState.FREE)


def stranded_by(layout: HallLayout, seat_map: SeatMap, chosen: Sequence[int]) -> tuple[int, ...]:
    """Free seats the user's choice leaves alone between taken ones."""
    return best_seats.stranded_seats(layout, seat_map.taken_by_others, chosen)


def seat_labels(layout: HallLayout, seat_ids: Sequence[int]) -> tuple[str, ...]:
    """The labels ("E7") of some seats, in hall order."""
    wanted = set(seat_ids)
    return tuple(seat.label for row in layout.rows for seat in row.seats if seat.id in wanted)
