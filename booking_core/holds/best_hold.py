"""Holding the best N seats side by side for a user, as the seat map's "best N" asks (bot and Mini App).

In a rush everyone's first plan wants the same seats. A lost race rules out (for this request) at least
one seat of the block tried, and the next plan reads a fresh map, so no block is tried twice and each
request ends holding seats or finding no block left. The attempts are bounded by the blocks free at the
first look: enough to try every one of them. Ties between equally good blocks go by the user's id, so
concurrent users mostly want different seats in the first place.
"""

from __future__ import annotations

from dataclasses import dataclass

from booking_core.holds import best_seats
from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.seat_map import SeatMap, SeatState
from booking_core.holds.store import HoldStore
from booking_core.holds.types import Hold

# Refusals naming seats that went to someone else between reading the map and holding: a lost race.
_LOST_RACE = frozenset(
    {HoldRefusalReason.SEAT_TAKEN, HoldRefusalReason.SEAT_SOLD, HoldRefusalReason.WAITLIST_FIRST}
)


@dataclass(frozen=True)
class NoBlockFree:
    """No `count` seats side by side can be had now; `free` seats could be picked at all (yours included).

    Wheelchair spaces are not counted as free: the waitlist never offers them. `holding`: the user holds
    seats of the show now (they must release them before joining its waitlist).
    """

    count: int
    free: int
    holding: bool = False

    @property
    def too_few(self) -> bool:
        """Fewer seats are free than wanted (the waitlist's case), rather than none together."""
        return self.free < self.count


def _taken_by_others(seat_map: SeatMap) -> frozenset[int]:
    return frozenset(
        seat for seat, state in seat_map.states.items() if state not in (SeatState.FREE, SeatState.YOURS)
    )


async def hold_best(
    holds: HoldStore, show_id: int, rows: best_seats.HallLayout, user: int, count: int
) -> Hold | HoldRefused | NoBlockFree:
    """Hold the best `count` seats side by side in the hall `rows` for `user`, replacing their selection."""
    lost: set[int] = set()
    attempts_left: int | None = None
    result: Hold | HoldRefused = HoldRefused(HoldRefusalReason.SEAT_TAKEN)
    while True:
        current = await holds.seat_map(show_id, user)
        if current.closed:
            return HoldRefused(HoldRefusalReason.SHOW_STARTED)
        if current.unavailable_reason is not None:
            return HoldRefused(HoldRefusalReason.THEATRE_UNAVAILABLE)
        unavailable = _taken_by_others(current) | lost
        seats = best_seats.best_block(rows, unavailable, count, tie_break=user)
        if seats is None:
            mine = len(current.your_hold.seat_ids) if current.your_hold else 0
            free = sum(
                1
                for row in rows
                for seat in row
                if seat.category != best_seats.WHEELCHAIR
                and current.states.get(seat.seat_id) == SeatState.FREE
            )
            return NoBlockFree(count, free + mine, holding=current.your_hold is not None)
        if attempts_left is None:
            attempts_left = best_seats.candidate_blocks(rows, unavailable, count)
        if attempts_left == 0:
            return result
        attempts_left -= 1
        result = await holds.hold(show_id, user, seats)
        if not (isinstance(result, HoldRefused) and result.reason in _LOST_RACE):
            return result
        lost.update(result.seat_ids or seats)
