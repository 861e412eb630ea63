"""Choosing seats in a hall: pure functions over a layout and a set of seats that are not free.

A layout is the catalogue's `HallLayout` (booking_core/catalogue/views.py): rows front to back, each
of `LayoutSeat`s with an id, a column and a category. Seats are adjacent when they are in the same row
and their columns differ by one (an aisle is a gap in the columns). The best seats are nearest the
centre of the middle rows. A seat is *stranded* when it is free and both its neighbours are taken (sold,
held or being chosen); a seat at the end of a row or beside an aisle has a missing neighbour and is
never stranded. Wheelchair seats are only chosen when asked for, and then the block must include one.
Equally good blocks tie and the lower row and column win (a rush needs no spreading: booking_core/
holds/best_hold.py chooses and holds atomically).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Sequence
from typing import NamedTuple

from booking_core.hall_layout import HallLayout, LayoutSeat

WHEELCHAIR = "wheelchair"


def _runs(layout: HallLayout) -> Iterator[tuple[int, list[LayoutSeat]]]:
    """Each row's stretches of adjacent seats, with the row's index."""
    for row_index, row in enumerate(layout.rows):
        run: list[LayoutSeat] = []
        for seat in sorted(row.seats, key=lambda s: s.column):
            if run and seat.column != run[-1].column + 1:
                yield row_index, run
                run = []
            run.append(seat)
        if run:
            yield row_index, run


class _Centre(NamedTuple):
    row: float
    column: float

    @classmethod
    def of(cls, layout: HallLayout) -> _Centre:
        columns = [seat.column for row in layout.rows for seat in row.seats] or [0]
        return cls(row=(len(layout.rows) - 1) / 2, column=(min(columns) + max(columns)) / 2)

    def distance(self, row_index: int, first_column: int, last_column: int) -> float:
        # Rounded so that blocks equally far from the centre tie and fall to the row and column order.
        return round(math.hypot(row_index - self.row, (first_column + last_column) / 2 - self.column), 9)


def _eligible(seat: LayoutSeat, unavailable: Collection[int], wheelchair: bool) -> bool:
    return seat.id not in unavailable and (wheelchair or seat.category != WHEELCHAIR)


def _strands_beside(run: Sequence[LayoutSeat], start: int, end: int, unavailable: Collection[int]) -> bool:
    """True if taking run[start:end] leaves a free seat just outside it with a taken seat beyond."""
    left, right = start - 1, end
    if left >= 1 and run[left].id not in unavailable and run[left - 1].id in unavailable:
        return True
    return right + 1 < len(run) and run[right].id not in unavailable and run[right + 1].id in unavailable


def _free_blocks(
    layout: HallLayout, unavailable: Collection[int], count: int, wheelchair: bool
) -> Iterator[tuple[int, Sequence[LayoutSeat], int]]:
    """Every `count` adjacent free seats as (row index, run, start in the run)."""
    if count < 1:
        return
    for row_index, run in _runs(layout):
        for start in range(len(run) - count + 1):
            block = run[start : start + count]
            if not all(_eligible(seat, unavailable, wheelchair) for seat in block):
                continue
            if wheelchair and not any(seat.category == WHEELCHAIR for seat in block):
                continue
            yield row_index, run, start


def best_block(
    layout: HallLayout,
    unavailable: Collection[int],
    count: int,
    *,
    wheelchair: bool = False,
) -> tuple[int, ...] | None:
    """The best `count` adjacent free seats, preferring blocks that strand no seat; None if none fit."""
    centre = _Centre.of(layout)
    best: tuple[tuple[bool, float, int, int], tuple[int, ...]] | None = None
    for row_index, run, start in _free_blocks(layout, unavailable, count, wheelchair):
        block = run[start : start + count]
        key = (
            _strands_beside(run, start, start + count, unavailable),
            centre.distance(row_index, block[0].column, block[-1].column),
            row_index,
            block[0].column,
        )
        if best is None or key < best[0]:
            best = (key, tuple(seat.id for seat in block))
    return best[1] if best else None


class RankedBlock(NamedTuple):
    """A block of adjacent seats, with the seats beyond each end of its run (nearest first, at most two)."""

    seat_ids: tuple[int, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]


def ranked_blocks(layout: HallLayout, count: int) -> list[RankedBlock]:
    """Every block of `count` adjacent seats without a wheelchair seat, best first (as `best_block`
    ranks them); the seats beyond its ends let a caller check stranding later."""
    centre = _Centre.of(layout)
    ranked: list[tuple[float, int, int, RankedBlock]] = []
    for row_index, run, start in _free_blocks(layout, (), count, wheelchair=False):
        block = run[start : start + count]
        beyond_left = tuple(seat.id for seat in reversed(run[max(0, start - 2) : start]))
        beyond_right = tuple(seat.id for seat in run[start + count : start + count + 2])
        distance = centre.distance(row_index, block[0].column, block[-1].column)
        ids = tuple(seat.id for seat in block)
        ranked.append((distance, row_index, block[0].column, RankedBlock(ids, beyond_left, beyond_right)))
    ranked.sort(key=lambda item: item[:3])
    return [item[3] for item in ranked]


def best_seats(
    layout: HallLayout,
    unavailable: Collection[int],
    count: int,
    *,
    together: bool,
    wheelchair: bool = False,
) -> tuple[int, ...] | None:
    """`count` free seats: the best block; if none and not `together`, the best seats one by one."""
    block = best_block(layout, unavailable, count, wheelchair=wheelchair)
    if block is not None or together:
        return block
    centre = _Centre.of(layout)
    free = [
        (
            centre.distance(row_index, seat.column, seat.column),
            row_index,
            seat.column,
            seat.id,
        )
        for row_index, row in enumerate(layout.rows)
        for seat in row.seats
        if _eligible(seat, unavailable, wheelchair)
    ]
    if len(free) < count or count < 1:
        return None
    return tuple(sorted(item[-1] for item in sorted(free)[:count]))


def stranded_seats(
    layout: HallLayout, unavailable: Collection[int], chosen: Collection[int]
) -> tuple[int, ...]:
    """Free seats that picking `chosen` would leave stranded between taken ones (to warn about)."""
    chosen_set = set(chosen)
    taken = set(unavailable) | chosen_set
    stranded = []
    for _row_index, run in _runs(layout):
        for i in range(1, len(run) - 1):
            left, seat, right = run[i - 1].id, run[i].id, run[i + 1].id
            if seat not in taken and left in taken and right in taken and {left, right} & chosen_set:
                stranded.append(seat)
    return tuple(stranded)


def largest_block(layout: HallLayout, unavailable: Collection[int], *, wheelchair: bool = False) -> int:
    """The length of the longest stretch of adjacent free seats."""
    longest = 0
    for _row_index, run in _runs(layout):
        length = 0
        for seat in run:
            length = length + 1 if _eligible(seat, unavailable, wheelchair) else 0
            longest = max(longest, length)
    return longest


def free_count(layout: HallLayout, unavailable: Collection[int], *, wheelchair: bool = False) -> int:
    """How many free seats there are (wheelchair seats only when asked)."""
    return sum(1 for row in layout.rows for seat in row.seats if _eligible(seat, unavailable, wheelchair))


def within_free_window(
    layout: HallLayout, seat_id: int, count: int, blocked: Collection[int], *, wheelchair: bool = False
) -> bool:
    """True if `seat_id` lies in some stretch of `count` adjacent seats none of which is `blocked`."""
    for _row_index, run in _runs(layout):
        ids = [seat.id for seat in run]
        if seat_id not in ids:
            continue
        here = ids.index(seat_id)
        for start in range(max(0, here - count + 1), min(here, len(run) - count) + 1):
            if all(
                seat.id not in blocked and (wheelchair or seat.category != WHEELCHAIR)
                for seat in run[start : start + count]
            ):
                return True
        return False
    return False
