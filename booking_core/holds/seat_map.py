"""The state of every seat of a show, as one user sees it, read in one Redis round trip (two when the
show's cache must first be rebuilt from SQL)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from booking_core.holds.errors import HoldRefused
from booking_core.holds.scripts import ShowScripts, as_list
from booking_core.holds.types import Hold, parse_hold

# SeatMap.unavailable_reason of a connected cinema's show whose own ticketing system is not answering:
# the seats cannot be trusted or held right now ("temporarily unavailable"); nothing else is affected.
THEATRE_UNAVAILABLE = "theatre_unavailable"


class SeatState(enum.StrEnum):
    """What a seat is to the user looking at the map."""

    FREE = "free"
    HELD = "held"  # held by someone else
    YOURS = "yours"  # in the user's own hold or offer
    SOLD = "sold"
    OFFERED = "offered"  # reserved for the waitlist, or offered to someone on it


@dataclass(frozen=True)
class SeatMap:
    """Every seat of the show's hall with its state, the user's own hold, and the waitlist's length."""

    show_id: int
    states: Mapping[int, SeatState]
    your_hold: Hold | None
    waiting: int
    closed: bool  # started, or not on sale
    # None when the map can be trusted; THEATRE_UNAVAILABLE while a connected cinema's system is down
    # (holds are refused until it answers again, so the bot should say so instead of offering seats).
    unavailable_reason: str | None = None
    # Who holds each seat of a live hold or offer (user ids): a map read for nobody in particular can
    # still be shown to each user with their own seats on it (webhooks/miniapp/snapshots.py).
    holders: Mapping[int, int] = field(default_factory=dict)

    def seats_in(self, state: SeatState) -> tuple[int, ...]:
        """The seats in `state`, sorted."""
        return tuple(sorted(seat for seat, current in self.states.items() if current == state))

    @property
    def unavailable(self) -> frozenset[int]:
        """Seats that cannot be picked by anyone but their holder (for best-seat and stranding checks)."""
        return frozenset(seat for seat, state in self.states.items() if state != SeatState.FREE)

    @property
    def taken_by_others(self) -> frozenset[int]:
        """Seats the user cannot have: everything not free, except their own."""
        return frozenset(
            seat for seat, state in self.states.items() if state not in (SeatState.FREE, SeatState.YOURS)
        )


@dataclass(frozen=True)
class HoldOutcome:
    """What a hold attempt did (None: the user's last seat was let go), and the seat map as the user sees
    it right after, read in the same script call."""

    result: Hold | HoldRefused | None
    seat_map: SeatMap


async def read_seat_map(shows: ShowScripts, show_id: int, user_id: int | None, now_ms: int) -> SeatMap:
    """The show's seat map as `user_id` sees it (None: an anonymous view)."""
    user = "" if user_id is None else str(user_id)
    reply = await shows.run("seat_map", show_id, [user], now_ms=now_ms)
    return parse_seat_map(show_id, user_id, reply)


def parse_seat_map(show_id: int, user_id: int | None, reply: dict[str, Any]) -> SeatMap:
    """The seat map from seat_map.lua's reply (also embedded in the replies of scripts that change holds)."""
    user = "" if user_id is None else str(user_id)
    states = dict.fromkeys(map(int, as_list(reply["seats"])), SeatState.FREE)
    holders = {}
    for seat in as_list(reply["reserved"]):
        states[int(seat)] = SeatState.OFFERED
    for seat, holder, offered in as_list(reply["held"]):
        holders[int(seat)] = int(holder)
        if holder == user:
            states[int(seat)] = SeatState.YOURS
        else:
            states[int(seat)] = SeatState.OFFERED if int(offered) > 0 else SeatState.HELD
    for seat in as_list(reply["sold"]):
        states[int(seat)] = SeatState.SOLD
    mine = reply["mine"]
    return SeatMap(
        show_id=show_id,
        states=states,
        your_hold=parse_hold(show_id, mine["token"], mine["record"]) if mine else None,
        waiting=int(reply["waiting"]),
        closed=bool(reply["closed"]),
        holders=holders,
    )
