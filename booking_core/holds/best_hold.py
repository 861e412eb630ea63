"""Holding the best N seats side by side in one Redis script call (booking_core/holds/lua/best.lua).

Which blocks of N adjacent seats are best depends only on the hall's layout, so the ranking is computed
once per layout and N (kept in this process) and stored beside the show's inventory in Redis the first
time a show needs it; from then on a press is one script call that picks the first wholly free block of
the ranking (no stranded single seat where another free block avoids one) and holds it. No plan can
lose a race to another press, so nothing retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from booking_core.hall_layout import HallLayout
from booking_core.holds.best_seats import WHEELCHAIR, ranked_blocks
from booking_core.holds.seat_map import SeatMap, SeatState
from booking_core.redis_keys import ShowKeys

CACHED_RANKINGS = 256


def ranking_key(show_id: int, count: int) -> str:
    """The Redis LIST of a show's blocks of `count` seats, best first."""
    return ShowKeys(show_id).key(f"ranking:{count}")


@lru_cache(maxsize=CACHED_RANKINGS)
def ranking_payload(layout: HallLayout, count: int) -> str:
    """The ranking as best.lua loads it: entries "s1,s2|l1,l2|r1,r2" separated by spaces."""
    return " ".join(
        f"{_csv(block.seat_ids)}|{_csv(block.left)}|{_csv(block.right)}"
        for block in ranked_blocks(layout, count)
    )


def _csv(seat_ids: tuple[int, ...]) -> str:
    return ",".join(str(seat) for seat in seat_ids)


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


def no_block_free(layout: HallLayout, seat_map: SeatMap, count: int) -> NoBlockFree:
    """Why a "best `count`" press found no block (NO_SEATS_TOGETHER), from the map it answered with."""
    free = sum(
        1
        for row in layout.rows
        for seat in row.seats
        if seat.category != WHEELCHAIR and seat_map.states.get(seat.id) == SeatState.FREE
    )
    mine = len(seat_map.your_hold.seat_ids) if seat_map.your_hold else 0
    return NoBlockFree(count, free + mine, holding=seat_map.your_hold is not None)
