"""What the Mini App API says about a show: the hall, every seat's state as one user sees it, their hold.

Seats are named by row label and number ("F12"), as in the Theatre API. `version` is a digest of what
changes (the seat states, the hold, the waitlist, whether booking is open), so a page that already has
that version can be answered "304 Not Modified".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from booking_core.catalogue.views import HallLayout, ShowDetails
from booking_core.hold_types import Hold
from booking_core.seat_map import SeatMap
from booking_core.ticket_content import format_money


@dataclass(frozen=True)
class ShowHall:
    """A show with its hall, and its seats by name."""

    details: ShowDetails
    layout: HallLayout

    def seat_ids(self, names: Sequence[str]) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """The ids of the named seats, and the names that are no seat of this hall."""
        by_name = {seat.label: seat.id for row in self.layout.rows for seat in row.seats}
        known = tuple(by_name[name] for name in names if name in by_name)
        return known, tuple(name for name in names if name not in by_name)

    def seat_names(self, seat_ids: Sequence[int]) -> list[str]:
        """The names of some seats, in hall order."""
        wanted = set(seat_ids)
        return [seat.label for row in self.layout.rows for seat in row.seats if seat.id in wanted]

    def total(self, seat_ids: Sequence[int]) -> int | None:
        """What the seats cost, in minor units; None when a seat's category has no price."""
        wanted = set(seat_ids)
        prices = [
            self.details.price_of(seat.category)
            for row in self.layout.rows
            for seat in row.seats
            if seat.id in wanted
        ]
        return None if None in prices else sum(price or 0 for price in prices)


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


def _hall_view(hall: ShowHall) -> dict[str, Any]:
    details = hall.details
    prices = [
        {
            "category": p.category,
            "amount_minor": p.amount_minor,
            "price": format_money(p.amount_minor, details.currency),
        }
        for p in details.prices
        if p.category in hall.layout.categories
    ]
    rows = [
        {
            "label": row.label,
            "seats": [
                {"seat": seat.label, "number": seat.number, "column": seat.column, "category": seat.category}
                for seat in row.seats
            ],
        }
        for row in hall.layout.rows
    ]
    return {
        "show": {
            "id": details.show_id,
            "movie": details.movie.title,
            "cinema": details.cinema.name,
            "hall": details.hall_name,
            "starts_at": details.local_starts_at.isoformat(),
            "currency": details.currency,
        },
        "prices": prices,
        "width": hall.layout.width,
        "rows": rows,
    }


def show_state(
    hall: ShowHall, seat_map: SeatMap, *, waitlist_position: int | None, max_seats: int, now: datetime
) -> dict[str, Any]:
    """The GET answer: hall, seat states by name, the user's hold, the waitlist and the state version."""
    names = {seat.id: seat.label for row in hall.layout.rows for seat in row.seats}
    live = {
        "states": {names[seat]: str(state) for seat, state in seat_map.states.items() if seat in names},
        "hold": None,
        "hold_token": seat_map.your_hold.token if seat_map.your_hold else None,
        "waitlist": {"waiting": seat_map.waiting, "position": waitlist_position},
        "closed": seat_map.closed,
        "unavailable": seat_map.unavailable_reason,
        "prices": [(p.category, p.amount_minor) for p in hall.details.prices],
    }
    digest = hashlib.blake2b(json.dumps(live, sort_keys=True).encode(), digest_size=12).hexdigest()
    del live["hold_token"], live["prices"]
    if seat_map.your_hold is not None:
        live["hold"] = _hold_view(hall, seat_map.your_hold, now)
    return {**_hall_view(hall), **live, "max_seats": max_seats, "version": digest}
