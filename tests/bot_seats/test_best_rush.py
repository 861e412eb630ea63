"""A rush on the BEST button: many users press "best N" at once, through the real Application.

Everyone wants the same best seats at once. However hard the rush, every press must end with N seats as
long as a block of N is free, and only the presses that find none left are refused, saying so. No seat
is ever held twice, and no press tries twice: the core chooses and holds in one atomic step.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from booking_core.database import SessionFactory
from booking_core.holds.seat_map import SeatState
from booking_core.holds.types import Hold
from booking_core.redis_keys import ShowKeys
from bot.codec import Action
from sandbox.telegram import CallbackAnswer
from tests.bot_seats.bot_harness import SeatBot, action_button
from tests.factories import make_show

RUSH = 50
FIRST_USER = 700_001
USERS = range(FIRST_USER, FIRST_USER + RUSH)
NOTHING_LEFT = "Only 0 seat(s) are free"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh SQLite file (this module runs on SQLite only)."""
    # The rush is decided in Redis (SQL only lists the show), and each run spends seconds under the bot's
    # Telegram rate limit; test_seat_handlers.py covers the BEST button on both backends.
    return f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}"


async def _rush(seat_bot: SeatBot, show_id: int, count: int) -> dict[int, CallbackAnswer]:
    """Every user opens the show's map, then all press ✨`count` at the same moment; answers by user."""
    maps = await asyncio.gather(*(seat_bot.open_map(show_id, user) for user in USERS))
    presses = [
        seat_bot.press(message.message_id, action_button(message, Action.BEST, f"✨{count}"), user)
        for user, message in zip(USERS, maps, strict=True)
    ]
    return dict(zip(USERS, await asyncio.gather(*presses), strict=True))


async def _holds(seat_bot: SeatBot, show_id: int) -> dict[int, Hold]:
    """The holds the rushing users have now, by user."""
    found = [await seat_bot.core.holds.current_hold(show_id, user) for user in USERS]
    return {user: hold for user, hold in zip(USERS, found, strict=True) if hold is not None}


async def _hold_attempts(seat_bot: SeatBot, show_id: int) -> set[int]:
    """How many times each rushing user tried to hold, as the hold scripts' rate limiter counted them."""
    keys = ShowKeys(show_id)
    counted = [await seat_bot.core.redis.get(keys.attempts(user)) for user in USERS]
    return {int(value or 0) for value in counted}


def _assert_fair_outcome(answers: dict[int, CallbackAnswer], holds: dict[int, Hold], blocks: int) -> None:
    """As many winners as there were blocks, no seat twice, and every loser told that nothing is left."""
    assert len(holds) == min(RUSH, blocks), {user: answer.text for user, answer in answers.items()}
    seats = Counter(seat for hold in holds.values() for seat in hold.seat_ids)
    assert all(times == 1 for times in seats.values()), seats
    for user, answer in answers.items():
        assert answer.text is not None, answer
        if user in holds:
            assert answer.text.startswith("Held "), answer.text
        else:
            # Refused only because nothing is left, not because a seat was "just taken by someone else"
            assert answer.show_alert and answer.text.startswith(NOTHING_LEFT), answer.text


async def test_fifty_users_pressing_best_one_fill_every_free_seat(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    # Given a show with 10 free seats left here and there, the rest of the hall sold
    show = await make_show(sessions, rows=4, seats_per_row=6)
    free = sorted(show.seat_ids[i] for i in (1, 4, 7, 8, 9, 10, 13, 15, 20, 22))
    holds = seat_bot.core.holds
    await holds.seat_map(show.show_id, None)  # the sold-seat cache exists once the show has been read
    await holds.mark_sold(show.show_id, sorted(set(show.seat_ids) - set(free)), None)
    assert (await holds.seat_map(show.show_id, None)).seats_in(SeatState.FREE) == tuple(free)
    # When 50 users press ✨1 at the same moment
    answers = await _rush(seat_bot, show.show_id, 1)
    # Then 10 of them hold one seat each, together every free seat, and the 40 others hear none is left
    held = await _holds(seat_bot, show.show_id)
    _assert_fair_outcome(answers, held, blocks=len(free))
    assert sorted(seat for hold in held.values() for seat in hold.seat_ids) == free
    # And each press tried exactly once, found a seat or not (no lost race, no retry)
    assert await _hold_attempts(seat_bot, show.show_id) == {1}


async def test_fifty_users_pressing_best_two_take_every_free_pair(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    # Given a hall of pairs: 5 rows of 2 seats, an aisle, 2 seats; all free (10 pairs)
    show = await make_show(sessions, rows=5, seats_per_row=4, aisle_after=2)
    pairs = {frozenset(show.seat_ids[i : i + 2]) for i in range(0, len(show.seat_ids), 2)}
    # When 50 users press ✨2 at the same moment
    answers = await _rush(seat_bot, show.show_id, 2)
    # Then 10 of them hold a pair side by side, together every pair, and the 40 others hear none is left
    held = await _holds(seat_bot, show.show_id)
    _assert_fair_outcome(answers, held, blocks=len(pairs))
    assert {frozenset(hold.seat_ids) for hold in held.values()} == pairs
    assert await _hold_attempts(seat_bot, show.show_id) == {1}
