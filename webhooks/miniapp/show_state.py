"""What the Mini App API says about a show: the hall, every seat's state as one user sees it, their hold.

Seats are named by row label and number ("F12"), as in the Theatre API. `version` is a digest of what
changes (the seat states, the hold, the waitlist, whether booking is open), so a page that already has
that version can be answered "304 Not Modified". The hall itself (rows, prices, the show) rarely
changes: `ShowHall` computes its part once, and a page that has it gets only the live part after a tap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from booking_core.catalogue.views import ShowDetails
from booking_core.hall_layout import HallLayout
from booking_core.holds.seat_map import SeatMap, SeatState
from booking_core.holds.types import Hold
from booking_core.tickets.content import format_money


@dataclass(frozen=True)
class ShowHall:
    """A show with its hall, its seats by name, and the hall's part of the API's answer."""

    details: ShowDetails
    layout: HallLayout

    @cached_property
    def _ids_by_name(self) -> dict[str, int]:
        return {seat.label: seat.id for row in self.layout.rows for seat in row.seats}

    @cached_property
    def names(self) -> dict[int, str]:
        """Each seat's name by its id."""
        return {seat_id: name for name, seat_id in self._ids_by_name.items()}

    @cached_property
    def _prices_by_id(self) -> dict[int, int | None]:
        return {
            seat.id: self.details.price_of(seat.category) for row in self.layout.rows for seat in row.seats
        }

    def seat_ids(self, names: Sequence[str]) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """The ids of the named seats, and the names that are no seat of this hall."""
        known = tuple(self._ids_by_name[name] for name in names if name in self._ids_by_name)
        return known, tuple(name for name in names if name not in self._ids_by_name)

    def seat_names(self, seat_ids: Sequence[int]) -> list[str]:
        """The names of some seats, in hall order."""
        return [self.names[seat] for seat in sorted(seat_ids) if seat in self.names]

    def total(self, seat_ids: Sequence[int]) -> int | None:
        """What the seats cost, in minor units; None when a seat's category has no price."""
        prices = [self._prices_by_id.get(seat) for seat in seat_ids]
        return None if None in prices else sum(price or 0 for price in prices)

    @cached_property
    def view(self) -> dict[str, Any]:
        """The hall's part of the answer: the show, prices, rows of named seats."""
        details = self.details
        return {
            "show": {
                "id": details.show_id,
                "movie": details.movie.title,
                "cinema": details.cinema.name,
                "hall": details.hall_name,
                "starts_at": details.local_starts_at.isoformat(),
                "currency": details.currency,
            },
            "prices": [
                {
                    "category": price.category,
                    "amount_minor": price.amount_minor,
                    "price": format_money(price.amount_minor, details.currency),
                }
                for price in details.prices
                if price.category in self.layout.categories
            ],
            "width": self.layout.width,
            "rows": [
                {
                    "label": row.label,
                    "seats": [
                        {"seat": s.label, "number": s.number, "column": s.column, "category": s.category}
                        for s in row.seats
                    ],
                }
                for row in self.layout.rows
            ],
        }


def _hold_view(hall: ShowHall, hold: Hold, now: datetime) -> dict[str, Any]:
    total = hall.total(hold.seat_ids)
    return {
        "seats": hall.seat_names(hold.seat_ids),
        "expires_at": hold.expires_at.isoformat(),
        "seconds_left": max(0, int((hold.expires_at - now).total_seconds())),
        "offer": hold.is_offer,
        "total_minor": total,
        "total": format_money(total, hall.details.currency) if total is not None else None,
    }


def live_state(
    hall: ShowHall, seat_map: SeatMap, *, waitlist_position: int | None, max_seats: int, now: datetime
) -> dict[str, Any]:
    """What changes: the states of seats not free, the user's hold, the waitlist, and its version."""
    names = hall.names
    hold = seat_map.your_hold
    free = SeatState.FREE
    taken = sorted((seat, state.value) for seat, state in seat_map.states.items() if state is not free)
    live: dict[str, Any] = {
        # A seat of the hall not named here is free: most are, and the answer stays small.
        "states": {names[seat]: state for seat, state in taken if seat in names},
        "waitlist": {"waiting": seat_map.waiting, "position": waitlist_position},
        "closed": seat_map.closed,
        "unavailable": seat_map.unavailable_reason,
        "max_seats": max_seats,
    }
    # The hold's token stands for its seats and expiry; the prices for the hall part a page already has.
    changes = (
        taken,
        seat_map.waiting,
        waitlist_position,
        seat_map.closed,
        seat_map.unavailable_reason,
        max_seats,
        hold.token if hold else None,
        [(price.category, price.amount_minor) for price in hall.details.prices],
    )
    digest = hashlib.blake2b(repr(changes).encode(), digest_size=12).hexdigest()
    return {**live, "hold": _hold_view(hall, hold, now) if hold else None, "version": digest}


def show_state(
    hall: ShowHall, seat_map: SeatMap, *, waitlist_position: int | None, max_seats: int, now: datetime
) -> dict[str, Any]:
    """The GET answer: the hall and its live state."""
    live = live_state(hall, seat_map, waitlist_position=waitlist_position, max_seats=max_seats, now=now)
    return {**hall.view, **live}
