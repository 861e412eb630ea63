"""Halls drawn as text for pure tests.

One line per row from the front: `.` free, `x` taken, `w` free wheelchair seat, a space an aisle
(a gap in the columns). Seat ids are row * 100 + column.
"""

from __future__ import annotations

from booking_core.hall_layout import HallLayout, LayoutRow, LayoutSeat


def hall(*lines: str) -> tuple[HallLayout, set[int]]:
    """The layout and the taken seats of a drawn hall."""
    rows, taken = [], set()
    for r, line in enumerate(lines):
        label = chr(ord("A") + r)
        row = []
        for c, mark in enumerate(line, start=1):
            if mark == " ":
                continue
            category = "wheelchair" if mark == "w" else "standard"
            seat = LayoutSeat(r * 100 + c, f"{label}{c}", c, c, category)
            row.append(seat)
            if mark == "x":
                taken.add(seat.id)
        rows.append(LayoutRow(r, label, tuple(row)))
    return HallLayout(hall_id=1, hall_name="drawn", rows=tuple(rows)), taken
