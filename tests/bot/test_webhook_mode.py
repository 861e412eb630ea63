"""Webhook mode: Telegram's updates come through our aiohttp app, guarded by the secret token header.

A wrong or missing X-Telegram-Bot-Api-Secret-Token gets 403 and nothing is processed; a repeated
update_id is acknowledged and handled once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Message, Update
from telegram.ext import TypeHandler

from bot.codec import Action, decode
from roles.redis_server import RedisEndpoint
from tests.bot.harness import TELEGRAM_SECRET, BotWorld, open_world, text_of
from tests.factories import make_show
from webhooks.telegram import SECRET_HEADER

USER = 6201


@pytest.fixture
async def world(
    engine: AsyncEngine, database_url: str, redis_endpoint: RedisEndpoint, redis: object
) -> AsyncIterator[BotWorld]:
    """The bot in webhook mode behind our web app."""
    async with open_world(database_url, redis_endpoint.url, webhook=True) as running:
        await make_show(running.core.sessions)
        yield running


def help_update(update_id: int, user_id: int) -> dict[str, Any]:
    """A genuine-looking update: the user sends /help."""
    person = {"id": user_id, "is_bot": False, "first_name": "Eve"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Eve"},
            "from": person,
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }


async def post_update(world: BotWorld, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
    """POST an update straight to our webhook, as Telegram (or an impostor) would."""
    url = f"{world.base_url}/webhooks/telegram"
    async with world.http.post(url, json=body, headers=headers) as response:
        return response.status, await response.json()


async def test_updates_arrive_through_the_webhook(world: BotWorld) -> None:
    # Given the bot in webhook mode (the sandbox pushes updates with the secret we set)
    info = await world.application.bot.get_webhook_info()
    assert info.url == f"{world.base_url}/webhooks/telegram"
    # When a user writes /start
    greeting = await world.user(USER).say("/start")
    # Then the update came through our endpoint and the bot answered
    assert "Marquee" in text_of(greeting)
    assert all(delivery.status == 200 for delivery in world.telegram.webhook_deliveries)


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: TELEGRAM_SECRET + "x"}])
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_processed(
    world: BotWorld, headers: dict[str, str]
) -> None:
    # Given a user the bot could answer
    world.telegram.add_user(USER)
    # When an update arrives without the right secret
    status, body = await post_update(world, help_update(424_242, USER), headers)
    # Then it is refused with 403
    assert (status, body) == (403, {"status": "forbidden"})
    # ... while the same update with the right secret is handled (its id was not even marked as seen)
    status, body = await post_update(world, help_update(424_242, USER), {SECRET_HEADER: TELEGRAM_SECRET})
    assert (status, body) == (200, {"status": "queued"})
    await world.user(USER).wait_for_text("/mytickets")
    # And once the bot has handled it and nothing else is queued or in hand, it was handled once: the
    # refused one never reached the bot
    await world.until_handled(424_242)
    await world.until_idle()
    assert world.handled == [424_242]
    assert len([m for m in world.telegram.chat(USER) if m.from_bot]) == 1


async def test_a_repeated_update_is_handled_once(world: BotWorld) -> None:
    world.telegram.add_user(USER)
    secret = {SECRET_HEADER: TELEGRAM_SECRET}
    first = await post_update(world, help_update(515_151, USER), secret)
    again = await post_update(world, help_update(515_151, USER), secret)
    assert first == (200, {"status": "queued"}) and again == (200, {"status": "duplicate"})
    await world.until_handled(515_151)
    # Then, with nothing left queued or in hand, the bot handled it and answered once
    await world.until_idle()
    assert world.handled == [515_151]
    assert len([m for m in world.telegram.chat(USER) if m.from_bot]) == 1


async def test_a_body_that_is_no_update_is_refused(world: BotWorld) -> None:
    url = f"{world.base_url}/webhooks/telegram"
    async with world.http.post(url, data=b"not json", headers={SECRET_HEADER: TELEGRAM_SECRET}) as response:
        assert response.status == 400


async def test_a_press_arrives_without_the_pressed_messages_keyboard(world: BotWorld) -> None:
    # Given what the handlers see of each press, and the welcome with its city buttons
    pressed: list[Message] = []

    async def look(update: Update, _context: object) -> None:
        if update.callback_query is not None and isinstance(update.callback_query.message, Message):
            pressed.append(update.callback_query.message)

    world.application.add_handler(TypeHandler(Update, look), group=-200)
    greeting = await world.user(USER).say("/start")
    city = next(data for data in greeting.callback_data() if (decode(data) or Action.NOOP) != Action.NOOP)
    # When the user presses a city
    answer = await world.user(USER).press(city, greeting)
    # Then the press was handled as ever, the message it came from read without its keyboard
    assert answer is not None
    [message] = pressed
    assert message.message_id == greeting.message_id and message.reply_markup is None
    assert message.text is not None and message.text == greeting.text


async def test_a_body_that_is_json_but_no_object_is_refused(world: BotWorld) -> None:
    status, body = await post_update(world, [help_update(7, USER)], {SECRET_HEADER: TELEGRAM_SECRET})
    assert status == 400 and body == {"status": "malformed"}
