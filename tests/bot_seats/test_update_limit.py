"""A user (or a script sending callback data) over BOT_UPDATES_PER_MINUTE is told to slow down, and
the update changes nothing. Seat taps count against HOLD_ATTEMPTS_PER_MINUTE instead, in the core's
own script call: over that limit a tap changes nothing either, whichever way it would have gone."""

from __future__ import annotations

from booking_core.database import SessionFactory
from booking_core.holds.errors import HoldRefusalReason
from bot.codec import Action, encode
from bot.handlers.throttle import SLOW_DOWN
from bot.views.hold_refusals import hold_refusal
from tests.bot_seats.bot_harness import OTHER_USER, USER, seat_button
from tests.bot_seats.conftest import SeatBotWith
from tests.factories import make_show


async def test_updates_over_the_limit_are_answered_slow_down_and_change_nothing(
    seat_bot_with: SeatBotWith, sessions: SessionFactory
) -> None:
    async with seat_bot_with(BOT_UPDATES_PER_MINUTE=3) as seat_bot:
        # Given a user who opened a seat map, tapped two seats (taps are not counted here) and moved to
        # the map's first block twice: three updates this minute
        show = await make_show(sessions, rows=1, seats_per_row=6)
        s = show.seat_ids
        message = await seat_bot.open_map(show.show_id)
        for seat in s[:2]:
            await seat_bot.press(message.message_id, seat_button(seat_bot.map_message(), seat)[1])
        for _ in range(2):
            await seat_bot.press(message.message_id, encode(Action.SHOW, show.show_id, 0), stale=True)
        # When they press "let my seats go" (the update goes no further than the limit: no handler marks
        # it done)
        release = encode(Action.RELEASE, show.show_id)
        answer = await seat_bot.telegram.wait_for_callback_answer(
            await seat_bot.telegram.press(USER, message.message_id, release, forge=True)
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


async def test_seat_taps_over_the_hold_attempts_limit_change_nothing(
    seat_bot_with: SeatBotWith, sessions: SessionFactory
) -> None:
    async with seat_bot_with(HOLD_ATTEMPTS_PER_MINUTE=3, BOT_UPDATES_PER_MINUTE=3) as seat_bot:
        # Given a user who tapped a seat, tapped it again (let go) and tapped another: three attempts,
        # and more taps than the bot's update limit would let through, were taps counted there
        show = await make_show(sessions, rows=1, seats_per_row=6)
        s = show.seat_ids
        message = await seat_bot.open_map(show.show_id)
        for seat in (s[0], s[0], s[1]):
            answer = await seat_bot.press(message.message_id, seat_button(seat_bot.map_message(), seat)[1])
            assert answer.text != SLOW_DOWN
        # When they tap their one seat (which would let it go), then a new one (which would add it)
        too_many = hold_refusal(HoldRefusalReason.RATE_LIMITED)
        for seat in (s[1], s[2]):
            answer = await seat_bot.press(message.message_id, seat_button(seat_bot.map_message(), seat)[1])
            # Then each is refused as too many taps, and the hold is as it was
            assert answer.text == too_many
            hold = await seat_bot.core.holds.current_hold(show.show_id, USER)
            assert hold is not None and hold.seat_ids == (s[1],)
        assert seat_button(seat_bot.map_message(), s[1])[0] == "✅"
        assert seat_button(seat_bot.map_message(), s[2])[0] != "✅"


async def test_best_seat_presses_count_as_hold_attempts_not_as_updates(
    seat_bot_with: SeatBotWith, sessions: SessionFactory
) -> None:
    async with seat_bot_with(HOLD_ATTEMPTS_PER_MINUTE=2, BOT_UPDATES_PER_MINUTE=1) as seat_bot:
        # Given a user who opened a seat map (their one update this minute) and pressed "best 1" twice
        show = await make_show(sessions, rows=1, seats_per_row=6)
        message = await seat_bot.open_map(show.show_id)
        best_one = encode(Action.BEST, show.show_id, 1)
        for _ in range(2):
            answer = await seat_bot.press(message.message_id, best_one, stale=True)
            assert answer.text is not None and answer.text.startswith("Held")
        held = await seat_bot.core.holds.current_hold(show.show_id, USER)
        # When they press it a third time
        answer = await seat_bot.press(message.message_id, best_one, stale=True)
        # Then it is refused as too many taps, and their hold is as it was
        assert answer.text == hold_refusal(HoldRefusalReason.RATE_LIMITED)
        assert await seat_bot.core.holds.current_hold(show.show_id, USER) == held
