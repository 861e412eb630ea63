"""What the bot takes in of an update (bot/updates.py): a pressed message arrives without its inline
keyboard, its entities and its smaller photo sizes, the rest of it and every other update as Telegram
sent them; polled through the sandbox Bot API
with python-telegram-bot's real ExtBot on our getUpdates client."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import ExtBot

from bot.bot_api_http import AiohttpRequest
from bot.updates import UpdatesRequest, lighter_update
from tests.sandbox.telegram_harness import TOKEN, Sandbox, serve_sandbox

CHAT = 700_002


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """The sandbox Bot API, with a chat the bot may write to."""
    async with serve_sandbox() as serving:
        await serving.state.send_text(CHAT, "/start")
        yield serving


def polling_bot(url: str, updates: AiohttpRequest) -> ExtBot[None]:
    """python-telegram-bot's Bot polling `url` through `updates`."""
    return ExtBot(
        TOKEN,
        base_url=f"{url}/bot",
        base_file_url=f"{url}/file/bot",
        request=AiohttpRequest(),
        get_updates_request=updates,
    )


async def test_a_pressed_message_arrives_without_its_keyboard_and_the_rest_as_sent(sandbox: Sandbox) -> None:
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(str(n), callback_data=f"v1:st:1:{n}:1") for n in range(1, 8)]] * 12
    )
    async with polling_bot(sandbox.url, UpdatesRequest()) as bot:
        sent = await bot.send_message(CHAT, "<b>Seat map</b>", parse_mode="HTML", reply_markup=keyboard)
        # Given the user's earlier /start, and a press on the message with 84 buttons
        await sandbox.state.press(CHAT, sent.message_id, "v1:st:1:5:1")
        command, press = await bot.get_updates(timeout=1)
    # Then the press says which button and which message, with its text, but not its keyboard or the
    # text's formatting
    query = press.callback_query
    assert query is not None and query.data == "v1:st:1:5:1" and query.from_user.id == CHAT
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.message.chat.id == CHAT and query.message.text == "Seat map"  # type: ignore[union-attr]
    assert query.message.reply_markup is None  # type: ignore[union-attr]
    assert sent.entities and not query.message.entities  # type: ignore[union-attr]
    # And the message the user sent is as it was
    assert command.message is not None and command.message.text == "/start"


async def test_the_same_press_through_the_plain_client_carries_the_keyboard(sandbox: Sandbox) -> None:
    # The contrast: what python-telegram-bot would otherwise have turned into 84 button objects per press
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A1", callback_data="v1:st:1:1:1")]])
    async with polling_bot(sandbox.url, AiohttpRequest(connections=1)) as bot:
        sent = await bot.send_message(CHAT, "Seat map", reply_markup=keyboard)
        await sandbox.state.press(CHAT, sent.message_id, "v1:st:1:1:1")
        *_, press = await bot.get_updates(timeout=1)
    assert press.callback_query is not None and press.callback_query.message is not None
    assert press.callback_query.message.reply_markup == keyboard  # type: ignore[union-attr]


def test_a_pressed_picture_keeps_its_largest_size_and_its_caption() -> None:
    sizes = [
        {"file_id": name, "file_unique_id": name, "width": width, "height": width}
        for name, width in (("small", 90), ("medium", 320), ("large", 800))
    ]
    message = {
        "message_id": 2,
        "caption": "Hall 1",
        "caption_entities": [{"type": "bold", "offset": 0, "length": 4}],
        "photo": sizes,
        "reply_markup": {"inline_keyboard": []},
    }
    pressed = {"update_id": 1, "callback_query": {"id": "9", "data": "v1", "message": message}}
    assert lighter_update(pressed)["callback_query"]["message"] == {
        "message_id": 2,
        "caption": "Hall 1",
        "photo": [sizes[-1]],
    }


def test_anything_but_a_pressed_message_is_left_as_it_is() -> None:
    command = {"type": "bot_command", "offset": 0, "length": 6}
    sent = {"message_id": 2, "text": "/start", "entities": [command], "reply_markup": {"keyboard": []}}
    inline_result = {"id": "9", "inline_message_id": "x", "data": "v1"}
    for update in ({"update_id": 1, "message": sent}, {"update_id": 3, "callback_query": inline_result}):
        assert lighter_update(copy.deepcopy(update)) == update
    assert lighter_update([1, 2]) == [1, 2]
