"""The bot's HTTP client under python-telegram-bot (bot/bot_api_http.py), with the real ExtBot against the
sandbox Bot API: calls, uploads and downloads go through it, and a failed connection or a late answer
reaches python-telegram-bot as its own NetworkError and TimedOut (its polling loop retries on those)."""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from PIL import Image
from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import ExtBot

from bot.bot_api_http import AiohttpRequest
from bot.replies import replace
from bot.views.screen import Screen
from tests.sandbox.telegram_harness import TOKEN, Sandbox, serve_sandbox

CHAT = 700_001


def client_bot(url: str, *, read_timeout: float = 5.0) -> ExtBot[None]:
    """python-telegram-bot's Bot on our HTTP client, pointed at `url`."""
    return ExtBot(
        TOKEN,
        base_url=f"{url}/bot",
        base_file_url=f"{url}/file/bot",
        request=AiohttpRequest(read_timeout=read_timeout),
    )


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """The sandbox Bot API, with a chat the bot may write to."""
    async with serve_sandbox() as serving:
        await serving.state.send_text(CHAT, "/start")
        yield serving


async def test_a_message_with_a_keyboard_goes_out_and_comes_back_parsed(sandbox: Sandbox) -> None:
    async with client_bot(sandbox.url) as bot:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A1", callback_data="v1:st:1:1:1")]])
        sent = await bot.send_message(CHAT, "<b>Seat map</b>", parse_mode="HTML", reply_markup=keyboard)
        assert sent.text == "Seat map" and sent.reply_markup == keyboard
        stored = sandbox.state.chat_state(CHAT).messages[sent.message_id]
        assert stored.callback_data() == ["v1:st:1:1:1"]


async def test_a_picture_is_uploaded_and_downloaded_unchanged(sandbox: Sandbox) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 9), "teal").save(buffer, "PNG")
    async with client_bot(sandbox.url) as bot:
        sent = await bot.send_photo(CHAT, buffer.getvalue(), caption="Hall")
        assert sent.caption == "Hall" and sent.photo[-1].width == 16
        file = await bot.get_file(sent.photo[-1].file_id)
        assert bytes(await file.download_as_bytearray()) == buffer.getvalue()


async def test_a_refusal_is_telegrams_error(sandbox: Sandbox) -> None:
    async with client_bot(sandbox.url) as bot:
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("gone", chat_id=CHAT, message_id=999_999)


async def test_no_server_is_a_network_error() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    bot = client_bot(f"http://127.0.0.1:{port}")
    await bot.request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await bot.get_me()
        assert not isinstance(raised.value, TimedOut)
    finally:
        await bot.request.shutdown()


async def test_an_answer_later_than_the_read_timeout_is_timed_out() -> None:
    answer = asyncio.Event()

    async def late(_request: web.Request) -> web.Response:
        await answer.wait()
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", late)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        bot = client_bot(f"http://127.0.0.1:{port}", read_timeout=0.3)
        await bot.request.initialize()
        try:
            with pytest.raises(TimedOut):
                await bot.get_chat(CHAT)
        finally:
            await bot.request.shutdown()
    finally:
        answer.set()
        await runner.cleanup()


async def test_an_edited_screen_shows_every_button_as_built(sandbox: Sandbox) -> None:
    # Given a screen, and buttons that are equal for python-telegram-bot but not the same on the wire
    copy_a = InlineKeyboardButton("Copy", copy_text=CopyTextButton("A-1"))
    copy_b = InlineKeyboardButton("Copy", copy_text=CopyTextButton("B-2"))
    rows = [
        [
            InlineKeyboardButton("✅", callback_data="v1:st:1:2:1"),
            InlineKeyboardButton("«»", url="https://x.test"),
        ],
        [copy_a],
    ]
    async with client_bot(sandbox.url) as bot:
        shown = await bot.send_message(CHAT, "Seat map")
        # When the screen is edited with them, one after the other (the keyboard goes out as JSON we build)
        await replace(bot, shown, Screen("Seat map, A2 held", InlineKeyboardMarkup(rows)))
        stored = sandbox.state.chat_state(CHAT).messages[shown.message_id]
        first = stored.buttons()
        await replace(bot, shown, Screen("Seat map, B2 held", InlineKeyboardMarkup([[copy_b]])))
        # Then Telegram got each button as built: text, data, link, the text to copy
        assert first == [
            {"text": "✅", "callback_data": "v1:st:1:2:1"},
            {"text": "«»", "url": "https://x.test"},
            {"text": "Copy", "copy_text": {"text": "A-1"}},
        ]
        assert stored.buttons() == [{"text": "Copy", "copy_text": {"text": "B-2"}}]
