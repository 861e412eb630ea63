"""The bot's rate limiter (bot/flood_control.py) with the real python-telegram-bot ExtBot against the
sandbox Bot API: replies are not held behind bulk traffic, chats are paced, 429s are waited out, and a
waiting edit goes out once with the newest content."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator

import pytest
from PIL import Image
from telegram.ext import AIORateLimiter, BaseRateLimiter, ExtBot

from bot.flood_control import BULK, RepliesFirst, Traffic, screen_turn
from bot.replies import replace
from bot.views.screen import Screen
from sandbox.telegram import FloodLimits, TelegramSandbox
from sandbox.telegram.state import ApiCall
from tests.sandbox.telegram_harness import TOKEN, Sandbox, serve_sandbox

USERS = range(500_001, 500_031)
REPLY_TO = 600_001

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def limited_bot(url: str, limiter: BaseRateLimiter[object]) -> ExtBot[object]:
    """The Application's kind of Bot, with `limiter`, pointed at the sandbox."""
    return ExtBot(TOKEN, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot", rate_limiter=limiter)


def sent_to(sandbox: Sandbox, chat: int) -> list[ApiCall]:
    """The sendMessage calls to one chat, refused ones included."""
    return [
        call for call in sandbox.state.calls_to("sendMessage") if str(call.params.get("chat_id")) == str(chat)
    ]


@pytest.fixture
async def flooding() -> AsyncIterator[Sandbox]:
    """A sandbox answering 429 past a burst of 2 messages per chat at 1 a second (no global limit)."""
    state = TelegramSandbox(flood=FloodLimits(per_chat_burst=2, global_rate=10_000, global_burst=10_000))
    async with serve_sandbox(state) as running:
        for user in [*USERS, REPLY_TO]:
            await running.state.send_text(user, "/start")
        yield running


async def _reply_wait_behind_bulk(url: str, limiter: BaseRateLimiter[object]) -> tuple[float, float]:
    """Seconds until a reply went out while 30 bulk notices were queued at 10/s, and until the last notice."""
    bulk = BULK if isinstance(limiter, RepliesFirst) else None  # AIORateLimiter knows no kinds of call
    async with limited_bot(url, limiter) as bot:
        started = time.monotonic()
        notices = [
            asyncio.create_task(bot.send_message(user, "Seats offered", rate_limit_args=bulk))
            for user in USERS
        ]
        await asyncio.sleep(0.05)
        await bot.send_message(REPLY_TO, "Your seat map")
        replied = time.monotonic() - started
        await asyncio.gather(*notices)
        return replied, time.monotonic() - started


async def test_a_reply_does_not_wait_behind_bulk_notices(flooding: Sandbox) -> None:
    # Given 30 bulk notices to 30 users queued at a bulk budget of 10 a second (3 s of them)
    # When a reply to a user's own press is sent meanwhile
    replied, all_sent = await _reply_wait_behind_bulk(flooding.url, RepliesFirst(bulk_per_second=10))
    # Then it goes out at once, while the notices take their paced 2 s or more
    assert replied < 0.5, replied
    assert all_sent >= 1.9, all_sent
    assert all(call.ok for call in flooding.state.calls_to("sendMessage"))


async def test_control_a_limiter_for_everything_holds_the_reply_back(flooding: Sandbox) -> None:
    # The same traffic under AIORateLimiter at the same 10 a second: the reply queues behind the notices
    replied, _all_sent = await _reply_wait_behind_bulk(flooding.url, AIORateLimiter(overall_max_rate=10))
    assert replied > 1.5, replied


async def test_a_chat_is_paced_so_telegram_never_answers_429(flooding: Sandbox) -> None:
    # Given the limiter pacing at 1 a second with no burst: a margin under the sandbox's burst of 2 for
    # requests that reach it a little late or early (a loaded machine)
    async with limited_bot(flooding.url, RepliesFirst(per_chat_burst=1)) as bot:
        started = time.monotonic()
        # When 5 messages go to one chat at once
        await asyncio.gather(*(bot.send_message(REPLY_TO, f"message {n}") for n in range(5)))
        # Then all arrive, paced over about 4 s, and not one was refused
        assert time.monotonic() - started >= 3.5
    calls = sent_to(flooding, REPLY_TO)
    assert [call.ok for call in calls] == [True] * 5


async def test_a_429_is_waited_out_and_the_call_tried_again(flooding: Sandbox) -> None:
    # Given a limiter that does not pace (as if Telegram's burst were bigger than it is)
    async with limited_bot(flooding.url, RepliesFirst.without_pacing()) as bot:
        # When 4 messages go to one chat one after another
        for n in range(4):
            await bot.send_message(REPLY_TO, f"message {n}")
    # Then Telegram refused some with 429, and every one of them was sent again after its retry_after
    calls = sent_to(flooding, REPLY_TO)
    assert any(not call.ok and "retry after" in (call.description or "") for call in calls)
    texts = [message.text for message in flooding.state.chat(REPLY_TO) if message.from_bot]
    assert texts == [f"message {n}" for n in range(4)]


async def test_a_waiting_edit_goes_out_once_with_the_newest_screen(flooding: Sandbox) -> None:
    async with limited_bot(flooding.url, RepliesFirst(per_chat_burst=1)) as bot:
        # Given a screen just sent, so the chat's next turn is a second away
        screen = await bot.send_message(REPLY_TO, "Seat map: nothing held")
        # When three edits of it follow at once, with their screen turns in order
        texts = ["Seat map: A1 held", "Seat map: A1, A2 held", "Seat map: A2 held"]
        edits = [
            bot.edit_message_text(
                text, REPLY_TO, screen.message_id, rate_limit_args=Traffic(screen_turn=turn)
            )
            for turn, text in enumerate(texts, start=1)
        ]
        await asyncio.gather(*edits)
        # Then the message was edited once, to the newest screen
        assert len(flooding.state.calls_to("editMessageText")) == 1
        stored = flooding.state.chat_state(REPLY_TO).messages[screen.message_id]
        assert stored.text == texts[-1] and stored.edit_count == 1
        # And an older screen arriving late is dropped rather than shown over the newer one
        late = await bot.edit_message_text(
            "Seat map: nothing held", REPLY_TO, screen.message_id, rate_limit_args=Traffic(screen_turn=1)
        )
        assert late is True and stored.text == texts[-1]


async def test_a_screen_edit_by_its_lower_case_name_is_paced_and_sent_once(flooding: Sandbox) -> None:
    # bot/replies.py edits text and captions by the lower-case method name (its answer stays JSON)
    async with limited_bot(flooding.url, RepliesFirst(per_chat_burst=1)) as bot:
        # Given a screen just sent, so the chat's next turn is a second away
        screen = await bot.send_message(REPLY_TO, "Seat map: nothing held")
        # When three screens replace it at once, the way a handler shows them, with their turns in order
        texts = ["Seat map: A1 held", "Seat map: A1, A2 held", "Seat map: A2 held"]
        shown = [
            replace(bot, screen, Screen(text), Traffic(screen_turn=turn))
            for turn, text in enumerate(texts, start=1)
        ]
        answered = await asyncio.gather(*shown)
        # Then the message was edited once, to the newest screen, with no 429 on the way
        edits = flooding.state.calls_to("editMessageText")
        assert [call.ok for call in edits] == [True]
        stored = flooding.state.chat_state(REPLY_TO).messages[screen.message_id]
        assert stored.text == texts[-1] and stored.edit_count == 1
        # And every caller is answered with the message (same chat and id)
        assert {(message.chat_id, message.message_id) for message in answered} == {
            (REPLY_TO, screen.message_id)
        }


def png(colour: str) -> bytes:
    """A small picture of one colour."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    return buffer.getvalue()


async def test_a_picture_edit_replaced_while_waiting_is_not_answered_with_the_newer_picture(
    flooding: Sandbox,
) -> None:
    async with limited_bot(flooding.url, RepliesFirst(per_chat_burst=1)) as bot:
        # Given a picture just sent, so the chat's next turn is a second away
        screen = await bot.send_photo(REPLY_TO, png("white"), caption="Block 1")
        # When two new pictures replace it at once, the second while the first still waits
        first, second = await asyncio.gather(
            replace(bot, screen, Screen("Block 2", photo=png("red")), screen_turn()),
            replace(bot, screen, Screen("Block 3", photo=png("blue")), screen_turn()),
        )
        # Then one edit went out, with the second picture, whose caller gets the photo Telegram answered
        edits = flooding.state.calls_to("editMessageMedia")
        assert [call.ok for call in edits] == [True]
        stored = flooding.state.chat_state(REPLY_TO).messages[screen.message_id]
        assert stored.caption == "Block 3" and second.photo[-1].file_id != screen.photo[-1].file_id
        # And the first caller is not told that picture is theirs (a file id cached for the wrong picture)
        assert first.photo[-1].file_id == screen.photo[-1].file_id
