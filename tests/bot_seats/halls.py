"""The demo catalogue's halls as layouts, with seat ids 1..n, for the pure seat-map tests."""

from __future__ import annotations

import json

from booking_core.catalogue.demo import DEMO_SOURCE
from booking_core.catalogue.file_format import DEFAULT_LEGEND, GAP
from booking_core.hall_layout import HallLayout, LayoutRow, LayoutSeat


def demo_hall(name: str) -> HallLayout:
    """The demo layout `name` (grand: 270 seats, studio: 140, salon: 48) as the catalogue returns it."""
    rows_spec = json.loads(DEMO_SOURCE.read_text(encoding="utf-8"))["layouts"][name]["rows"]
    rows: list[LayoutRow] = []
    next_id = 1
    for index, spec in enumerate(rows_spec):
        seats: list[LayoutSeat] = []
        for column, letter in enumerate(spec["layout"], start=1):
            if letter == GAP:
                continue
            number = len(seats) + 1
            seats.append(
                LayoutSeat(next_id, f"{spec['label']}{number}", number, column, DEFAULT_LEGEND[letter])
            )
            next_id += 1
        rows.append(LayoutRow(index, spec["label"], tuple(seats)))
    return HallLayout(hall_id=1, hall_name=name, rows=tuple(rows))


DEMO_HALLS = ("grand", "studio", "salon")
