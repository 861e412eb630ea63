"""Messages to Telegram are paced in Redis: about one per second per chat, a cap per second overall."""

from __future__ import annotations

import itertools

import pytest
import redis.asyncio as aioredis

from roles.resources import telegram_bot
from sandbox.telegram import start_telegram_sandbox
from sandbox.telegram.limits import FloodControl, FloodLimits
from tests.delivery.conftest import make_view
from tests.delivery_flow.stand import Stand
from workers.outbox_relay import relay_new
from workers.telegram_pacing import TelegramPace, wait_before_sending
from workers.telegram_tickets import send_ticket

NOW_MS = 1_700_000_000_250  # a quarter of a second into some second
TOKEN = "123456:pacing"


async def test_a_chat_gets_one_message_per_interval(redis: aioredis.Redis) -> None:
    pace = TelegramPace(per_chat_interval_ms=1_000, global_per_second=100)

    assert await wait_before_sending(redis, 7, NOW_MS, pace) == 0
    wait = await wait_before_sending(redis, 7, NOW_MS + 10, pace)
    # Another chat is not held up by the first
    assert await wait_before_sending(redis, 8, NOW_MS + 10, pace) == 0

    assert 900 < wait <= 1_000


async def test_the_bot_as_a_whole_is_capped_per_second(redis: aioredis.Redis) -> None:
    pace = TelegramPace(per_chat_interval_ms=1_000, global_per_second=3)

    waits = [await wait_before_sending(redis, chat, NOW_MS, pace) for chat in (1, 2, 3, 4)]

    # The fourth chat waits for the next second, and keeps its own slot for then
    assert waits == [0, 0, 0, 750]
    assert await wait_before_sending(redis, 4, NOW_MS + 750, pace) == 0


async def test_tickets_to_one_chat_are_spaced_so_telegram_never_refuses_one(stand: Stand) -> None:
    # Given Telegram's flood control (one message a second per chat, a burst of two)
    telegram = stand.sandboxes.telegram
    telegram.flood = FloodControl(FloodLimits(per_chat_rate=1.0, per_chat_burst=2))
    # And one customer who bought four tickets at once
    bookings = [await stand.confirmed_booking(5401) for _ in range(4)]

    async with stand.worker():
        # When all four are relayed together
        for booking_id in bookings:
            await relay_new(stand.ctx, booking_id)
        for booking_id in bookings:
            await stand.wait_for_rows(booking_id, lambda rows: rows[("telegram", "ticket")].status == "sent")

    # Then all four arrived, none refused, about a second apart
    calls = telegram.calls_to("sendPhoto")
    assert [call.ok for call in calls] == [True] * 4
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
    assert all(gap > 0.9 for gap in gaps), gaps
    assert len([m for m in telegram.chat(5401) if m.from_bot]) == 4


# python-telegram-bot's own RetryAfter reads its deprecated int `retry_after` while being built.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_429_from_telegram_is_retried_no_sooner_than_it_asks(stand: Stand) -> None:
    # Given a Telegram stricter than our pacing: one message per two seconds in a chat
    telegram = stand.sandboxes.telegram
    telegram.flood = FloodControl(FloodLimits(per_chat_rate=0.5, per_chat_burst=1))
    first, second = [await stand.confirmed_booking(5402) for _ in range(2)]

    async with stand.worker():
        # When two tickets for that chat are relayed together
        await relay_new(stand.ctx, first)
        await relay_new(stand.ctx, second)
        for booking_id in (first, second):
            await stand.wait_for_rows(booking_id, lambda rows: rows[("telegram", "ticket")].status == "sent")

    # Then the refused one was sent again after the wait Telegram asked for, and the row counted both tries
    calls = telegram.calls_to("sendPhoto")
    assert [call.ok for call in calls] == [True, False, True]
    assert calls[2].at - calls[1].at >= 0.9  # retry_after is given in whole seconds (here 1)
    rows = [(await stand.rows(booking_id))[("telegram", "ticket")] for booking_id in (first, second)]
    assert sorted(row.attempts for row in rows) == [1, 2]
    assert any(row.last_error and row.last_error.startswith("429") for row in rows)
    assert len([m for m in telegram.chat(5402) if m.from_bot]) == 2


async def test_paid_broadcast_is_asked_for_only_when_the_operator_turned_it_on(redis: aioredis.Redis) -> None:
    runner, url, telegram = await start_telegram_sandbox()
    try:
        for chat in (5501, 5502):
            telegram.add_user(chat, first_name=f"Fan{chat}")
        bot = telegram_bot(TOKEN, url)
        async with bot:
            # When one ticket goes out as by default and one with TELEGRAM_ALLOW_PAID_BROADCAST on
            await send_ticket(bot, redis, 5501, make_view())
            await send_ticket(bot, redis, 5502, make_view(), paid_broadcast=True)
    finally:
        await runner.cleanup()
    # Then only the second asked Telegram for its paid allowance
    calls = telegram.calls_to("sendPhoto")
    assert [call.ok for call in calls] == [True, True]
    # (a photo upload is a multipart form: the flag arrives as the text "true")
    assert [call.params.get("allow_paid_broadcast") for call in calls] == [None, "true"]
