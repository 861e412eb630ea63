"""The words and buttons of the seat-map and waitlist screens, and the choices behind a tap."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from booking_core.holds.errors import HoldRefusalReason, JoinRefusal
from booking_core.holds.seat_map import THEATRE_UNAVAILABLE, SeatState
from booking_core.holds.types import Hold
from booking_core.holds.waitlist import WaitlistPosition
from booking_core.holds.waitlist_policy import WaitReason
from bot.codec import Action, decode
from bot.seat_map.choice import best_for, stranded_by
from bot.views.hold_refusals import hold_refusal, join_refusal
from bot.views.screen import MAX_CAPTION
from bot.views.seat_keyboard import plan_blocks
from bot.views.seat_map import (
    SeatMapView,
    WaitlistButton,
    prices_line,
    seat_map_caption,
    seat_map_keyboard,
)
from bot.views.waitlist import join_screen, offer_screen, position_screen
from tests.bot_seats.halls import demo_hall
from tests.bot_seats.screens import NOW, SHOW_ID, details, hold, seat_map


def _view(map_hold: Hold | None = None, *, waiting: int = 0, closed: bool = False) -> SeatMapView:
    """Block 2 of the grand hall, every seat free but the hold's."""
    layout = demo_hall("grand")
    plan = plan_blocks(layout)
    current = seat_map(layout, your_hold=map_hold, waiting=waiting, closed=closed)
    return SeatMapView(details(), plan, plan.block(2), current, NOW, max_seats=10)


def _actions(view: SeatMapView) -> list[tuple[str, Action]]:
    markup = seat_map_keyboard(view)
    found = []
    for row in markup.inline_keyboard:
        for b in row:
            callback = decode(str(b.callback_data))
            assert callback is not None
            found.append((b.text, callback.action))
    return found


def test_prices_say_where_the_special_seats_are() -> None:
    layout = demo_hall("grand")
    assert prices_line(details(), plan_blocks(layout)) == (
        "standard 12.90 EUR · premium 16.90 EUR (rows M–O) · wheelchair 9.90 EUR (row A)"
    )


def test_caption_shows_the_show_block_legend_and_how_to_pick() -> None:
    caption = seat_map_caption(_view())
    assert caption.startswith("<b>The Last Projectionist</b>\nMarquee Spreeufer · Saal 1 · ")
    assert "Block 2 of 4 · rows A–O · seats 5–9" in caption
    assert "✅ yours" in caption and "✖ taken" in caption
    assert "Tap free seats to hold them" in caption


def test_caption_shows_your_seats_their_total_and_the_time_left() -> None:
    layout = demo_hall("grand")
    row_m = [seat.id for seat in layout.rows[12].seats[5:7]]  # two premium seats
    row_b = [layout.rows[1].seats[5].id]
    caption = seat_map_caption(_view(hold([*row_b, *row_m], minutes=4)))
    assert "Your seats: <b>B6, M6, M7</b> · 46.70 EUR" in caption
    assert "⏱ Held for you until 18:04 (4 min left)" in caption  # Berlin summer time


def test_a_long_selection_and_title_still_fit_a_caption() -> None:
    layout = demo_hall("grand")
    scattered = [row.seats[i].id for row in layout.rows[:10] for i in (0,)]
    view = _view(hold(scattered), waiting=3)
    view = replace(view, details=details("A" * 300), note="⚠️ " + "x" * 150)
    assert len(seat_map_caption(view)) <= MAX_CAPTION


def test_holding_seats_offers_pay_with_the_total_and_release() -> None:
    layout = demo_hall("grand")
    actions = _actions(_view(hold([layout.rows[1].seats[5].id])))
    assert ("💳 Pay 12.90 EUR", Action.CHECKOUT) in actions
    assert ("↩ Release", Action.RELEASE) in actions
    assert not any(action == Action.WAITLIST_JOIN for _text, action in actions)


def test_an_offer_can_be_declined_from_the_map() -> None:
    layout = demo_hall("grand")
    view = _view(hold([layout.rows[1].seats[5].id], offer=True))
    assert ("✖ Decline offer", Action.OFFER_DECLINE) in _actions(view)
    assert "🎟 Offered to you from the waitlist" in seat_map_caption(view)


def test_the_waitlist_button_joins_or_shows_your_place() -> None:
    join = replace(_view(), waitlist=WaitlistButton.JOIN)
    status = replace(_view(), waitlist=WaitlistButton.STATUS)
    assert ("⏳ Join the waitlist", Action.WAITLIST_JOIN) in _actions(join)
    assert ("⏳ My place in line", Action.WAITLIST_STATUS) in _actions(status)
    assert ("⬅ Other shows", Action.MOVIE) in _actions(join)
    assert not any(a in (Action.WAITLIST_JOIN, Action.WAITLIST_STATUS) for _t, a in _actions(_view()))


def test_a_closed_show_has_no_seat_buttons_and_says_so() -> None:
    view = _view(closed=True)
    assert [action for _text, action in _actions(view)] == [Action.MOVIE]
    assert "🚫 Booking for this show has closed." in seat_map_caption(view)


def test_a_cinema_whose_system_is_down_hides_the_seats_but_offers_a_refresh() -> None:
    # Given a connected cinema's show whose own booking system is not answering
    view = _view()
    down = replace(view, seat_map=replace(view.seat_map, unavailable_reason=THEATRE_UNAVAILABLE))
    # Then the caption says so, and only the way back and a refresh of the same block remain
    caption = seat_map_caption(down)
    warning = "⚠️ This cinema's booking system is temporarily unavailable. Please try again in a minute."
    assert warning in caption
    assert "Tap free seats" not in caption
    assert [action for _text, action in _actions(down)] == [Action.MOVIE, Action.SHOW]
    refresh = seat_map_keyboard(down).inline_keyboard[0][1]
    assert refresh.text == "🔄 Refresh"
    callback = decode(str(refresh.callback_data))
    assert callback is not None and callback.args == (SHOW_ID, 2)
    # And once it answers again the seats are back
    assert Action.SEAT in [action for _text, action in _actions(view)]


def test_best_counts_stop_at_the_booking_limit() -> None:
    view = replace(_view(), max_seats=2)
    assert [text for text, action in _actions(view) if action == Action.BEST] == ["✨1", "✨2"]


def test_a_pick_that_leaves_a_lone_seat_is_detected() -> None:
    layout = demo_hall("salon")  # 8 seats a row, no aisle
    row = [seat.id for seat in layout.rows[2].seats]
    taken = {row[0]: SeatState.SOLD}
    lone = stranded_by(layout, seat_map(layout, taken, hold([row[2]])), [row[2]])
    assert lone == (row[1],)
    assert stranded_by(layout, seat_map(layout, taken, hold([row[1]])), [row[1]]) == ()


def test_best_seats_treat_your_own_seats_as_free() -> None:
    layout = demo_hall("salon")
    everything_but_one_pair = {
        seat.id: SeatState.SOLD for row in layout.rows for seat in row.seats if seat.label not in ("C4", "C5")
    }
    mine = next(seat.id for seat in layout.rows[2].seats if seat.label == "C4")
    current = seat_map(layout, everything_but_one_pair, hold([mine]))
    chosen = best_for(layout, current, 2)
    assert chosen is not None and mine in chosen
    assert best_for(layout, current, 3) is None


def test_refusals_are_plain_words_short_enough_for_an_alert() -> None:
    for reason in HoldRefusalReason:
        text = hold_refusal(reason, ("A1", "A2", "A3"))
        assert 20 < len(text) <= 200
    for join_reason in JoinRefusal:
        assert 20 < len(join_refusal(join_reason)) <= 200
    assert "A1, A2" in hold_refusal(HoldRefusalReason.SEAT_TAKEN, ("A1", "A2"))


def test_a_hold_refused_while_the_cinema_is_down_says_so() -> None:
    text = hold_refusal(HoldRefusalReason.THEATRE_UNAVAILABLE, ("A1",))
    assert "temporarily unavailable" in text
    assert "hall" not in text


def test_joining_asks_for_a_seat_count_side_by_side_or_not() -> None:
    screen = join_screen(details(), together=True, max_seats=10, offer_minutes=2)
    assert screen.keyboard is not None
    callbacks = [decode(str(b.callback_data)) for row in screen.keyboard.inline_keyboard for b in row]
    joins = [c.args for c in callbacks if c is not None and c.action == Action.WAITLIST_JOIN]
    assert joins[:10] == [(SHOW_ID, n, 1) for n in range(1, 11)]
    assert joins[10] == (SHOW_ID, 0, 0)  # switches "side by side" off
    assert "2 min to pay or decline" in screen.text


def test_your_place_in_line_comes_with_the_reason_for_waiting() -> None:
    position = WaitlistPosition(
        position=2,
        ahead=1,
        reason=WaitReason.NOT_TOGETHER,
        passed_over=0,
        available_seats=5,
        largest_block=2,
        seats=3,
        together=True,
    )
    text = position_screen(details(), position).text
    assert "You are <b>number 2</b> on the waitlist for 3 seats side by side (1 ahead of you)." in text
    assert "5 seats are free, but at most 2 side by side." in text


def test_an_offer_names_the_seats_and_its_deadline() -> None:
    screen = offer_screen(details(), ("F7", "F8"), NOW + timedelta(minutes=2), NOW)
    assert "<b>F7, F8</b> are held in your name until <b>18:02</b> (2 min)." in screen.text
    assert screen.keyboard is not None
    texts = [(b.text, str(b.callback_data)) for row in screen.keyboard.inline_keyboard for b in row]
    assert texts == [("✅ Accept", f"v1:oa:{SHOW_ID}"), ("✖ Decline", f"v1:od:{SHOW_ID}")]
