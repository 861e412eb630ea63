"""Builders of the core's views (show details, seat maps, holds) for the pure seat-map tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from booking_core.catalogue.views import CinemaInfo, MovieInfo, SeatPrice, ShowDetails
from booking_core.hall_layout import HallLayout
from booking_core.holds.seat_map import SeatMap, SeatState
from booking_core.holds.types import Hold

# Large ids, so that callback data is measured at its longest plausible size.
SHOW_ID = 987_654_321_012
USER = 4242
NOW = datetime(2030, 6, 14, 16, 0, tzinfo=UTC)


def details(title: str = "The Last Projectionist", show_id: int = SHOW_ID) -> ShowDetails:
    """A show at 19:00 Berlin time with standard, premium and wheelchair prices."""
    return ShowDetails(
        show_id=show_id,
        movie=MovieInfo(1, title, 118, "12+", "en", "A film."),
        cinema=CinemaInfo(
            1, "Marquee Spreeufer", "Friedrichstraße 101", 1, "Berlin", 52.52, 13.38, "Europe/Berlin", "local"
        ),
        hall_id=1,
        hall_name="Saal 1",
        starts_at=NOW + timedelta(hours=1),
        currency="EUR",
        prices=(SeatPrice("premium", 1690), SeatPrice("standard", 1290), SeatPrice("wheelchair", 990)),
        on_sale=True,
    )


def all_seats(layout: HallLayout) -> list[int]:
    """Every seat id of the hall, in hall order."""
    return [seat.id for row in layout.rows for seat in row.seats]


def hold(seat_ids: Iterable[int], *, offer: bool = False, minutes: int = 5) -> Hold:
    """The test user's hold of these seats."""
    return Hold("token", SHOW_ID, USER, tuple(sorted(seat_ids)), NOW + timedelta(minutes=minutes), offer)


def seat_map(
    layout: HallLayout,
    states: Mapping[int, SeatState] | None = None,
    your_hold: Hold | None = None,
    *,
    waiting: int = 0,
    closed: bool = False,
) -> SeatMap:
    """A seat map: every seat free unless `states` says otherwise, the hold's seats yours."""
    full = {seat: SeatState.FREE for seat in all_seats(layout)}
    full.update(states or {})
    for seat in your_hold.seat_ids if your_hold else ():
        full[seat] = SeatState.YOURS
    return SeatMap(SHOW_ID, full, your_hold, waiting, closed)
