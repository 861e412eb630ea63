"""Halls drawn as text for pure tests.

One line per row from the front: `.` free, `x` taken, `w` free wheelchair seat, a space an aisle
(a gap in the columns). Seat ids are row * 100 + column.
"""

from __future__ import annotations

from booking_core.holds.best_seats import LayoutSeat


def hall(*lines: str) -> tuple[list[list[LayoutSeat]], set[int]]:
    """Rows and the taken seats of a drawn hall."""
    rows, taken = [], set()
    for r, line in enumerate(lines):
        row = []
        for c, mark in enumerate(line, start=1):
            if mark == " ":
                continue
            seat = LayoutSeat(r * 100 + c, c, "wheelchair" if mark == "w" else "standard")
            row.append(seat)
            if mark == "x":
                taken.add(seat.seat_id)
        rows.append(row)
    return rows, taken
