"""A seat tap in the bot costs one hold script call: its reply is the fresh seat map the screen is
redrawn from, and the hold's reminder is scheduled from it too. Besides, the bot's own bookkeeping of a
press is one small script: the user's update count (bot/handlers/throttle.py)."""

from __future__ import annotations

from booking_core.database import SessionFactory
from bot.memory.reminders import DUE_KEY
from roles.redis_server import RedisEndpoint
from tests.bot_seats.bot_harness import OTHER_USER, USER, SeatBot, running_seat_bot, seat_button, shown_seats
from tests.factories import make_show
from tests.holds.redis_stats import round_trips


async def test_a_tap_is_one_script_call(
    database_url: str, engine: object, private_redis_endpoint: RedisEndpoint, sessions: SessionFactory
) -> None:
    # The bot on a Redis server of the test's own: its commandstats count this bot's calls alone
    async with running_seat_bot(database_url, private_redis_endpoint.url) as bot:
        await _two_taps(bot, sessions)


async def _two_taps(bot: SeatBot, sessions: SessionFactory) -> None:
    show = await make_show(sessions, rows=3, seats_per_row=6)
    message = await bot.open_map(show.show_id)
    first, second, *_, last = shown_seats(message)
    # Given another person's hold (the show is known to the sweeper) and the user's first tap (it counts
    # the show among those they hold)
    await bot.core.holds.hold(show.show_id, OTHER_USER, [last])
    await bot.press(message.message_id, seat_button(message, first)[1])
    redis = bot.core.redis
    await redis.config_resetstat()
    # When they tap a second seat, then the first again
    await bot.press(message.message_id, seat_button(bot.map_message(), second)[1])
    answer = await bot.press(message.message_id, seat_button(bot.map_message(), first)[1])
    # Then each tap was one hold script call and one bookkeeping one, the screen shows what the core
    # answered, and the reminder of the hold it left is scheduled
    stats = await redis.info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] == 2  # the hold scripts (booking_core/holds/lua)
    assert stats["cmdstat_eval"]["calls"] == 2  # the bookkeeping
    assert await round_trips(redis) == 2 + 2
    assert answer.text is None or "released" in answer.text
    assert seat_button(bot.map_message(), second)[0] == "✅"
    hold = await bot.core.holds.current_hold(show.show_id, USER)
    assert hold is not None and hold.seat_ids == (second,)
    assert await redis.zscore(DUE_KEY, f"{show.show_id}:{USER}:{hold.token}") is not None
