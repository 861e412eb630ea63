"""A user (or a script sending callback data) over BOT_UPDATES_PER_MINUTE is told to slow down, and
the update changes nothing."""

from __future__ import annotations

from booking_core.database import SessionFactory
from bot.handlers.throttle import SLOW_DOWN
from tests.bot_seats.bot_harness import OTHER_USER, USER, seat_button
from tests.bot_seats.conftest import SeatBotWith
from tests.factories import make_show


async def test_updates_over_the_limit_are_answered_slow_down_and_change_nothing(
    seat_bot_with: SeatBotWith, sessions: SessionFactory
) -> None:
    async with seat_bot_with(BOT_UPDATES_PER_MINUTE=3) as seat_bot:
        # Given a user who opened a seat map and tapped two seats: three updates this minute
        show = await make_show(sessions, rows=1, seats_per_row=6)
        s = show.seat_ids
        message = await seat_bot.open_map(show.show_id)
        for seat in s[:2]:
            await seat_bot.press(message.message_id, seat_button(seat_bot.map_message(), seat)[1])
        # When they tap a third seat (the update goes no further than the limit: no handler marks it done)
        third = seat_button(seat_bot.map_message(), s[2])[1]
        answer = await seat_bot.telegram.wait_for_callback_answer(
            await seat_bot.telegram.press(USER, message.message_id, third)
        )
        # Then they are told to slow down, and their hold is as it was
        assert (answer.text, answer.show_alert) == (SLOW_DOWN, True)
        hold = await seat_bot.core.holds.current_hold(show.show_id, USER)
        assert hold is not None and hold.seat_ids == tuple(s[:2])
        # While another user is not held back by them
        other = await seat_bot.open_map(show.show_id, OTHER_USER)
        answer = await seat_bot.press(other.message_id, seat_button(other, s[3])[1], OTHER_USER)
        assert answer.text != SLOW_DOWN
        assert await seat_bot.core.holds.current_hold(show.show_id, OTHER_USER) is not None
