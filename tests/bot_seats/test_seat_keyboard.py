"""Cutting halls into keyboard blocks, and the keyboards of those blocks, against Telegram's limits."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardMarkup

from booking_core.hall_layout import HallLayout, LayoutRow, LayoutSeat
from booking_core.holds.seat_map import SeatState
from bot.codec import Action, decode
from bot.views.seat_keyboard import (
    MAX_BLOCK_SEATS,
    home_block,
    legend,
    plan_blocks,
    position_text,
    seat_text,
)
from bot.views.seat_map import SeatMapView, WaitlistButton, seat_map_keyboard
from tests.bot_seats.halls import DEMO_HALLS, demo_hall
from tests.bot_seats.screens import NOW, SHOW_ID, all_seats, details, hold, seat_map


def _buttons(markup: InlineKeyboardMarkup) -> list[tuple[str, str]]:
    return [(b.text, str(b.callback_data)) for row in markup.inline_keyboard for b in row]


def _aisles(layout: HallLayout) -> set[int]:
    used = {seat.column for row in layout.rows for seat in row.seats}
    return set(range(min(used), max(used) + 1)) - used


def _keyboards(layout: HallLayout) -> list[InlineKeyboardMarkup]:
    """Every block's keyboard at its fullest: seats held (pay, release) and every best-seat count."""
    plan = plan_blocks(layout)
    seats = all_seats(layout)
    view_map = seat_map(layout, {seats[1]: SeatState.SOLD, seats[2]: SeatState.OFFERED}, hold(seats[-10:]))
    markups = []
    for block in plan.blocks:
        view = SeatMapView(details(), plan, block, view_map, NOW, max_seats=10, waitlist=WaitlistButton.JOIN)
        markup = seat_map_keyboard(view)
        markups.append(markup)
    return markups


@pytest.mark.parametrize("name", DEMO_HALLS)
def test_every_seat_is_in_exactly_one_block_and_no_block_crosses_an_aisle(name: str) -> None:
    layout = demo_hall(name)
    plan = plan_blocks(layout)
    shown = [seat.id for block in plan.blocks for seat in block.seats()]
    assert sorted(shown) == sorted(all_seats(layout))
    aisles = _aisles(layout)
    for block in plan.blocks:
        assert 1 <= len(block.columns) <= MAX_BLOCK_SEATS
        assert list(block.columns) == list(range(block.columns[0], block.columns[-1] + 1))
        assert not aisles & set(block.columns)
    assert [block.number for block in plan.blocks] == list(range(1, len(plan.blocks) + 1))


def test_the_demo_grand_hall_is_cut_at_its_aisles_into_four_full_height_blocks() -> None:
    layout = demo_hall("grand")  # WWSS_SSSSSSSSSS_SSWW: aisles at columns 5 and 16
    assert layout.seat_count == 270 and _aisles(layout) == {5, 16}
    plan = plan_blocks(layout)
    assert [block.columns for block in plan.blocks] == [
        (1, 2, 3, 4),
        (6, 7, 8, 9, 10),
        (11, 12, 13, 14, 15),
        (17, 18, 19, 20),
    ]
    assert all(len(block.rows) == 15 for block in plan.blocks)
    assert position_text(plan, plan.blocks[1]) == "Block 2 of 4 · rows A–O · seats 5–9"
    assert plan.best_counts == (1, 2, 3, 4)


@pytest.mark.parametrize("name", DEMO_HALLS)
def test_keyboards_keep_to_telegrams_limits(name: str) -> None:
    for markup in _keyboards(demo_hall(name)):
        rows = markup.inline_keyboard
        assert sum(len(row) for row in rows) <= 100
        assert all(1 <= len(row) <= 8 for row in rows)
        for _text, data in _buttons(markup):
            assert len(data.encode()) <= 64
            assert decode(data) is not None


def test_a_deep_hall_is_also_cut_into_bands_of_rows() -> None:
    rows = tuple(
        LayoutRow(
            r, f"R{r}", tuple(LayoutSeat(r * 100 + c, f"R{r}-{c}", c, c, "standard") for c in range(1, 15))
        )
        for r in range(40)
    )
    plan = plan_blocks(HallLayout(1, "deep", rows))
    assert len(plan.blocks) > 2
    assert all(block.seat_buttons <= 90 for block in plan.blocks)
    assert {len(block.columns) for block in plan.blocks} == {7}
    assert position_text(plan, plan.blocks[-1]).startswith(
        f"Block {len(plan.blocks)} of {len(plan.blocks)} · rows R"
    )
    for markup in _keyboards(HallLayout(1, "deep", rows)):
        assert sum(len(row) for row in markup.inline_keyboard) <= 100


def test_a_row_missing_seats_in_a_block_keeps_its_columns_aligned() -> None:
    front = LayoutRow(0, "A", tuple(LayoutSeat(i, f"A{i}", i, i + 1, "standard") for i in range(1, 4)))
    back = LayoutRow(1, "B", tuple(LayoutSeat(10 + i, f"B{i}", i, i, "standard") for i in range(1, 5)))
    layout = HallLayout(1, "odd", (front, back))
    (block,) = plan_blocks(layout).blocks
    markup = seat_map_keyboard(
        SeatMapView(details(), plan_blocks(layout), block, seat_map(layout), NOW, max_seats=10)
    )
    first_row = [b.text for b in markup.inline_keyboard[1]]
    assert first_row == ["A", "·", "1", "2", "3"]


def test_seat_buttons_tell_free_yours_taken_and_kept_apart() -> None:
    layout = demo_hall("grand")
    wheelchair, standard = layout.rows[0].seats[0], layout.rows[1].seats[0]
    assert seat_text(standard, SeatState.FREE) == "1"
    assert seat_text(wheelchair, SeatState.FREE) == "♿1"
    assert seat_text(standard, SeatState.YOURS) == "✅"
    assert seat_text(standard, SeatState.SOLD) == seat_text(standard, SeatState.HELD) == "✖"
    assert seat_text(standard, SeatState.OFFERED) == "⏳"


def test_seat_buttons_toggle_the_seat_and_remember_the_block() -> None:
    layout = demo_hall("studio")
    markup = _keyboards(layout)[1]
    seat_buttons = [decode(data) for _text, data in _buttons(markup) if data.startswith("v1:st:")]
    assert len(seat_buttons) == 70
    assert all(
        b is not None and b.action == Action.SEAT and b.args[0] == SHOW_ID and b.args[2] == 2
        for b in seat_buttons
    )
    labels = [text for text, data in _buttons(markup) if decode(data) == decode("v1:noop")]
    assert labels[:3] == ["🎬 screen this way 🎬", "A", "B"]


def test_navigation_moves_between_neighbouring_blocks() -> None:
    layout = demo_hall("grand")
    markups = _keyboards(layout)
    navigation = [[decode(b.callback_data) for b in m.inline_keyboard[-3]] for m in markups]  # type: ignore[arg-type]
    first, second = navigation[0], navigation[1]
    assert first[0] is not None and first[0].action == Action.NOOP
    assert first[2] is not None and first[2].args == (SHOW_ID, 2)
    assert second[0] is not None and second[0].args == (SHOW_ID, 1)
    assert second[1] is not None and second[1].args == (SHOW_ID, 2)  # the position button refreshes
    assert [b.text for b in markups[1].inline_keyboard[-3]] == ["◀", "🔄 2/4", "▶"]


def test_the_legend_names_the_waitlist_and_wheelchair_marks_only_where_they_occur() -> None:
    grand, salon = demo_hall("grand"), demo_hall("salon")
    assert legend(grand, {1: SeatState.FREE}) == "number = free · ✅ yours · ✖ taken · ♿ wheelchair"
    assert "⏳ kept for the waitlist" in legend(salon, {1: SeatState.OFFERED})


def test_a_map_opens_where_your_seats_are_or_in_the_middle() -> None:
    plan = plan_blocks(demo_hall("grand"))
    seat_in_last_block = plan.blocks[3].seats()[0].id
    assert home_block(plan, [seat_in_last_block]).number == 4
    assert home_block(plan, []).number == 2
    assert plan.block(0).number == 1 and plan.block(99).number == 4
