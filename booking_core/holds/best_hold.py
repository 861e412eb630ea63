"""Holding the best N seats side by side in one Redis script call (booking_core/holds/lua/best.lua).

Which blocks of N adjacent seats are best depends only on the hall's layout, so the ranking is computed
once per layout and N (kept in this process) and stored beside the show's inventory in Redis the first
time a show needs it; from then on a press is one script call that picks the first wholly free block of
the ranking (no stranded single seat where another free block avoids one) and holds it. No plan can
lose a race to another press, so nothing retries.
"""

from __future__ import annotations

from functools import lru_cache

from booking_core.holds.best_seats import HallLayout, ranked_blocks
from booking_core.redis_keys import ShowKeys

CACHED_RANKINGS = 256


def ranking_key(show_id: int, count: int) -> str:
    """The Redis LIST of a show's blocks of `count` seats, best first."""
    return ShowKeys(show_id).key(f"ranking:{count}")


def ranking_payload(layout: HallLayout, count: int) -> str:
    """The ranking as best.lua loads it: entries "s1,s2|l1,l2|r1,r2" separated by spaces."""
    frozen = tuple(tuple(row) for row in layout)
    return _payload(frozen, count)


def _csv(seat_ids: tuple[int, ...]) -> str:
    return ",".join(str(seat) for seat in seat_ids)


@lru_cache(maxsize=CACHED_RANKINGS)
def _payload(layout: HallLayout, count: int) -> str:
    return " ".join(
        f"{_csv(block.seat_ids)}|{_csv(block.left)}|{_csv(block.right)}"
        for block in ranked_blocks(layout, count)
    )
