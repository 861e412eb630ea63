"""What the Mini App API says about a show: the hall, every seat's state as one user sees it, their hold.

Seats are named by row label and number ("F12"), as in the Theatre API. `version` is a digest of what
changes (the seat states, the hold, the waitlist, whether booking is open), so a page that already has
that version can be answered "304 Not Modified". The hall itself (rows, prices, the show) rarely
changes: `ShowHall` computes its part once, and a page that has it asks for the live part only. A tap
is answered with the user's hold alone (`hold_answer`), an event with the seat states (`pushed_state`).
"""

from __future__ import annotations

import hashlib
import json
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


@dataclass(frozen=True)
class NamedStates:
    """A seat map in the API's words: the seats that are not free by name (and a digest of them), and whose
    hold has which. One is made per shared map read (snapshots.py) and then shown to every user."""

    states: dict[str, str]
    held_by: dict[int, tuple[str, ...]]  # user id -> the seats of their hold in this map
    waiting: int
    closed: bool
    unavailable: str | None
    digest: str

    @cached_property
    def event_tail(self) -> bytes:
        """The shared part of a server-sent event (`pushed_event`), from after its opening brace."""
        shared = {
            "states": self.states,
            "waiting": self.waiting,
            "closed": self.closed,
            "unavailable": self.unavailable,
        }
        return json.dumps(shared, separators=(",", ":"))[1:].encode() + b"\n\n"

    @classmethod
    def of(cls, hall: ShowHall, seat_map: SeatMap) -> NamedStates:
        """`seat_map` (anyone's, or one user's) named by the seats of `hall`."""
        names, free = hall.names, SeatState.FREE
        taken = sorted((seat, state.value) for seat, state in seat_map.states.items() if state is not free)
        held_by: dict[int, list[str]] = {}
        for seat, user in sorted(seat_map.holders.items()):
            if seat in names and seat_map.states.get(seat) is not SeatState.SOLD:
                held_by.setdefault(user, []).append(names[seat])
        # A seat of the hall not named here is free: most are, and the answer stays small.
        states = {names[seat]: state for seat, state in taken if seat in names}
        return cls(
            states=states,
            held_by={user: tuple(seats) for user, seats in held_by.items()},
            waiting=seat_map.waiting,
            closed=seat_map.closed,
            unavailable=seat_map.unavailable_reason,
            digest=_digest(states),
        )


def _digest(states: dict[str, str]) -> str:
    """A digest of the seat states a user is shown, whichever map they were laid over."""
    return hashlib.blake2b(repr(sorted(states.items())).encode(), digest_size=12).hexdigest()


def hold_answer(hall: ShowHall, hold: Hold | None, now: datetime) -> dict[str, Any]:
    """A tap's answer: the user's hold (None when they hold nothing now)."""
    return {"hold": _hold_view(hall, hold, now) if hold else None}


def live_state(
    hall: ShowHall,
    named: NamedStates,
    hold: Hold | None,
    user_id: int,
    *,
    queue: dict[str, Any] | None,
    waitlist_position: int | None,
    max_seats: int,
    now: datetime,
) -> dict[str, Any]:
    """What changes, as `user_id` sees it: the seats not free (their hold's as "yours"), their hold, the
    waitlist, their place in the on-sale queue (`queue`, None for a show without one), and the version.

    `named` may be older than `hold` (a shared read): seats it has in the user's hold that the hold no
    longer has are the ones they let go since, so they are shown free.
    """
    mine = hall.seat_names(hold.seat_ids) if hold else []
    gone = [name for name in named.held_by.get(user_id, ()) if name not in mine]
    states, digest = named.states, named.digest
    if mine or gone:
        states = {name: state for name, state in states.items() if name not in gone}
        states.update(dict.fromkeys(mine, SeatState.YOURS.value))
        digest = _digest(states)
    # The hold's token stands for its seats and expiry; the prices for the hall part a page already has.
    changes = (
        digest,
        named.waiting,
        named.closed,
        named.unavailable,
        hold.token if hold else None,
        waitlist_position,
        # Not the seconds left of a turn: they change every second, the turn's end does not.
        sorted((key, value) for key, value in queue.items() if key != "turn_seconds_left") if queue else None,
        max_seats,
        [(price.category, price.amount_minor) for price in hall.details.prices],
    )
    return {
        "states": states,
        "waitlist": {"waiting": named.waiting, "position": waitlist_position},
        "closed": named.closed,
        "unavailable": named.unavailable,
        "max_seats": max_seats,
        "queue": queue,
        **hold_answer(hall, hold, now),
        "version": hashlib.blake2b(repr(changes).encode(), digest_size=12).hexdigest(),
    }


def pushed_event(named: NamedStates, user_id: int) -> bytes:
    """A server-sent event: `yours` (the reader's seats), `states` as anyone sees them (the reader's
    seats "held" there too), and the show's waitlist and booking state. All but `yours` is encoded once
    per map, however many pages it is pushed to; the reader's hold itself comes with taps and GETs."""
    yours = json.dumps(list(named.held_by.get(user_id, ())))
    return b'data: {"yours":' + yours.encode() + b"," + named.event_tail


def show_state(
    hall: ShowHall,
    named: NamedStates,
    hold: Hold | None,
    user_id: int,
    *,
    queue: dict[str, Any] | None,
    waitlist_position: int | None,
    max_seats: int,
    now: datetime,
) -> dict[str, Any]:
    """The GET answer: the hall and its live state."""
    live = live_state(
        hall,
        named,
        hold,
        user_id,
        queue=queue,
        waitlist_position=waitlist_position,
        max_seats=max_seats,
        now=now,
    )
    return {**hall.view, **live}
