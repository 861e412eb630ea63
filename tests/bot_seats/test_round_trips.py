"""A seat tap in the bot costs one Redis round trip: the core's hold script, whose reply is the fresh
seat map the screen is redrawn from, which counts the tap among the user's hold attempts and notes when
the hold's reminder falls due; letting the last seat go included. "Let my seats go" is one more: the
bot's count of the user's updates, then one script that releases and answers with the map."""

from __future__ import annotations

from booking_core.database import SessionFactory
from booking_core.redis_keys import REMIND_SHOWS
from bot.codec import Action, encode
from roles.redis_server import RedisEndpoint
from tests.bot_seats.bot_harness import (
    OTHER_USER,
    USER,
    SeatBot,
    action_button,
    running_seat_bot,
    seat_button,
    shown_seats,
)
from tests.factories import make_show
from tests.holds.redis_stats import not_reminders, sent_commands

REMINDER_LEAD_S = 60


async def test_a_tap_is_one_round_trip(
    database_url: str, engine: object, private_redis_endpoint: RedisEndpoint, sessions: SessionFactory
) -> None:
    # The bot on a Redis server of the test's own: what it is sent is this bot's doing alone
    async with running_seat_bot(database_url, private_redis_endpoint.url) as bot:
        await _two_taps(bot, sessions, private_redis_endpoint.url)


async def _two_taps(bot: SeatBot, sessions: SessionFactory, redis_url: str) -> None:
    show = await make_show(sessions, rows=3, seats_per_row=6)
    message = await bot.open_map(show.show_id)
    first, second, *_, last = shown_seats(message)
    # Given another person's hold (the show is known to the sweeper) and the user's first tap (it counts
    # the show among those they hold)
    await bot.core.holds.hold(show.show_id, OTHER_USER, [last])
    await bot.press(message.message_id, seat_button(message, first)[1])
    # When they tap a second seat, then the first again
    async with sent_commands(redis_url) as sent:
        await bot.press(message.message_id, seat_button(bot.map_message(), second)[1])
        answer = await bot.press(message.message_id, seat_button(bot.map_message(), first)[1])
    # Then each tap sent Redis one command, the hold script (the bot's reminder loop, asking every
    # second for reminders due, aside), the screen shows what the core answered
    taps = not_reminders(sent)
    assert [command.split(" ")[0] for command in taps] == ["EVALSHA", "EVALSHA"], taps
    assert answer.text is None or "released" in answer.text
    assert seat_button(bot.map_message(), second)[0] == "✅"
    hold = await bot.core.holds.current_hold(show.show_id, USER)
    assert hold is not None and hold.seat_ids == (second,)
    # And the hold's reminder falls due a minute before it lapses, at the latest
    remind_at = await bot.core.redis.zscore(REMIND_SHOWS, str(show.show_id))
    assert remind_at is not None
    assert remind_at <= hold.expires_at.timestamp() * 1000 - REMINDER_LEAD_S * 1000
    # When they tap their last seat away, that too is one command, and they hold nothing
    async with sent_commands(redis_url) as sent:
        await bot.press(message.message_id, seat_button(bot.map_message(), second)[1])
    assert [command.split(" ")[0] for command in not_reminders(sent)] == ["EVALSHA"], sent
    assert await bot.core.holds.current_hold(show.show_id, USER) is None
    # And "let my seats go" (pressed once on an old screen with nothing held: Redis has its script from
    # then on) is the bot's update count and one command, the map answered with
    nothing = await bot.press(message.message_id, encode(Action.RELEASE, show.show_id), stale=True)
    assert nothing.text is not None and nothing.text.startswith("You hold no seats")
    await bot.press(message.message_id, seat_button(bot.map_message(), first)[1])
    async with sent_commands(redis_url) as sent:
        answer = await bot.press(message.message_id, action_button(bot.map_message(), Action.RELEASE))
    assert [command.split(" ")[0] for command in not_reminders(sent)] == ["EVAL", "EVALSHA"]
    assert answer.text == "Your seats are released."
    assert seat_button(bot.map_message(), first)[0] != "✅"
    assert await bot.core.holds.current_hold(show.show_id, USER) is None
