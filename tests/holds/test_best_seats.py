"""Best available seats and stranded-seat checks: pure functions over hand-drawn halls."""

from __future__ import annotations

from booking_core.holds.best_seats import (
    best_block,
    best_seats,
    largest_block,
    stranded_seats,
    within_free_window,
)
from tests.holds.drawn_halls import hall


def test_best_block_is_nearest_the_centre_of_the_middle_rows() -> None:
    rows, taken = hall("........", "........", "........")
    assert best_block(rows, taken, 2) == (104, 105)
    assert best_block(rows, taken, 3) == (103, 104, 105)  # ties go to the lower column


def test_blocks_never_span_an_aisle_or_a_taken_seat() -> None:
    rows, taken = hall("... ...", "..x.x..", "... ...")
    block = best_block(rows, taken, 3)
    assert block in {(1, 2, 3), (5, 6, 7), (201, 202, 203), (205, 206, 207)}
    assert best_block(rows, taken, 4) is None


def test_wheelchair_seats_only_when_asked() -> None:
    rows, taken = hall("ww......")
    assert best_block(rows, taken, 2) == (4, 5)
    assert best_block(rows, taken, 2, wheelchair=True) in {(1, 2), (2, 3)}
    assert best_block(rows, taken, 7) is None
    assert best_block(rows, taken, 7, wheelchair=True) is not None


def test_prefers_blocks_that_strand_no_single_seat() -> None:
    # Row: x . . . x x . . x  - the centre pair (2,3) would strand seat 4; (3,4) strands seat 2.
    rows, taken = hall("x...xx..x")
    assert best_block(rows, taken, 2) == (7, 8)
    # When every block strands a seat, the best of them is still offered.
    rows, taken = hall("x...x")
    assert best_block(rows, taken, 2) == (2, 3)


def test_stranded_seats_of_a_manual_pick() -> None:
    rows, taken = hall("x.....")
    assert stranded_seats(rows, taken, [3, 4]) == (2,)
    assert stranded_seats(rows, taken, [2, 3]) == ()
    # The end of a row, or an aisle, is not a taken neighbour.
    assert stranded_seats(rows, taken, [4, 5]) == ()
    rows, taken = hall("xx. ..")
    assert stranded_seats(rows, taken, [5]) == ()


def test_seats_one_by_one_when_not_together() -> None:
    rows, taken = hall(".x.x.", "xxxxx")
    assert best_seats(rows, taken, 3, together=True) is None
    assert best_seats(rows, taken, 3, together=False) == (1, 3, 5)
    assert best_seats(rows, taken, 4, together=False) is None
    rows, taken = hall("......")
    assert best_seats(rows, taken, 2, together=False) == (3, 4)  # a block when there is one


def test_largest_block_and_free_windows() -> None:
    rows, taken = hall("..x...", "x.x.x.")
    assert largest_block(rows, taken) == 3
    assert within_free_window(rows, 4, 3, taken)
    assert not within_free_window(rows, 1, 3, taken)
    assert within_free_window(rows, 1, 2, taken)
