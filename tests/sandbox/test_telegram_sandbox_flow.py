"""Updates, webhook, button presses and the user side of the Telegram sandbox, with the real Bot."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from telegram import (
    Bot,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict
from telegram.ext import Application, CommandHandler, ContextTypes

from sandbox.telegram import (
    SandboxError,
    TelegramSandbox,
)
from tests.sandbox.telegram_harness import (
    TOKEN,
    USER,
    Sandbox,
    keyboard,
    sandbox_bot,
    serve_sandbox,
    until,
    until_waiting,
)

# -- updates: polling, webhook -------------------------------------------------------------------


async def test_get_updates_long_polls_and_confirms_by_offset(bot: Bot, sandbox: Sandbox) -> None:
    # Given a bot waiting in a long poll
    polling = asyncio.create_task(bot.get_updates(timeout=5))
    await until_waiting(sandbox.state.signal)
    assert not polling.done()
    # When the user writes, the poll returns at once with the update
    await sandbox.state.send_text(USER, "/start", first_name="Ada")
    updates = await asyncio.wait_for(polling, 2)
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None and message.text == "/start" and message.from_user.first_name == "Ada"  # type: ignore[union-attr]
    assert message.entities[0].type == "bot_command"
    # Unconfirmed updates come back; the next offset confirms them
    assert [u.update_id for u in await bot.get_updates()] == [updates[0].update_id]
    assert await bot.get_updates(offset=updates[0].update_id + 1) == ()
    assert sandbox.state.updates.pending == []


async def test_get_updates_returns_at_most_100_or_the_limit(bot: Bot, sandbox: Sandbox) -> None:
    for n in range(120):
        await sandbox.state.send_text(USER + n % 3, f"hello {n}")
    first = await bot.get_updates()
    assert len(first) == 100
    assert len(await bot.get_updates(offset=first[-1].update_id + 1, limit=5)) == 5
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest][-1] == "hello 119" and len(rest) == 20  # type: ignore[union-attr]


async def test_a_second_bot_instance_polling_terminates_the_first(bot: Bot, sandbox: Sandbox) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await until_waiting(sandbox.state.signal)
    async with sandbox_bot(sandbox.url) as other_instance:
        second = asyncio.create_task(other_instance.get_updates(timeout=5))
        with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates"):
            await asyncio.wait_for(first, 2)
        await sandbox.state.send_text(USER, "hi")
        assert len(await asyncio.wait_for(second, 2)) == 1


async def test_get_updates_is_refused_with_409_while_a_webhook_is_set(bot: Bot, sandbox: Sandbox) -> None:
    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="has:colon")
    assert await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="abc_DEF-123")
    with pytest.raises(Conflict, match=r"(?i)webhook is active"):
        await bot.get_updates()
    info = await bot.get_webhook_info()
    assert info.url == "http://127.0.0.1:9/hook"
    await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_webhook_delivery_carries_the_secret_and_retries_failures(bot: Bot, sandbox: Sandbox) -> None:
    # Given a webhook receiver that fails its first request
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(status=500 if len(received) == 1 else 200)

    receiver_app = web.Application()
    receiver_app.router.add_post("/telegram", receive)
    runner = web.AppRunner(receiver_app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/telegram"
    try:
        await bot.set_webhook(hook_url, secret_token="s3cret_token-1")
        # When the user writes twice
        await sandbox.state.send_text(USER, "/start")
        await sandbox.state.send_text(USER, "/help")
        await until(
            lambda: len(sandbox.state.webhook_deliveries) >= 3 and not sandbox.state.updates.pending,
            "three deliveries made and nothing pending",
        )
        # Then each update arrives with the secret, the first one twice (500, then retried), in order
        assert {secret for secret, _ in received} == {"s3cret_token-1"}
        texts = [update["message"]["text"] for _, update in received]
        assert texts == ["/start", "/start", "/help"]
        update = Update.de_json(received[-1][1], bot)
        assert update.message is not None and update.message.text == "/help"
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0 and "500" in (info.last_error_message or "")
        assert [d.ok for d in sandbox.state.webhook_deliveries] == [False, True, True]
    finally:
        await runner.cleanup()


# -- buttons -------------------------------------------------------------------------------------


async def test_a_pressed_button_becomes_a_callback_query_the_bot_answers(bot: Bot, sandbox: Sandbox) -> None:
    await sandbox.state.send_text(USER, "/start")
    sent = await bot.send_message(USER, "Seats", reply_markup=keyboard([("A1", "seat:1"), ("A2", "seat:2")]))
    await bot.get_updates(offset=-1)  # confirm /start
    await bot.get_updates(offset=(await bot.get_updates())[-1].update_id + 1)
    # When the user presses A2 (over HTTP, as the web chat does)
    status, pressed = await sandbox.post(
        f"users/{USER}/press", {"message_id": sent.message_id, "callback_data": "seat:2"}
    )
    assert status == 200
    # Then the bot sees a callback query for that message and data
    (update,) = await bot.get_updates(timeout=2)
    query = update.callback_query
    assert query is not None and query.data == "seat:2" and query.id == pressed["callback_query_id"]
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.from_user.id == USER
    # And its answer reaches the user once; a second answer is refused
    assert await query.answer("A2 held")
    answer = await sandbox.state.wait_for_callback_answer(query.id, timeout=1)
    assert answer.text == "A2 held" and not answer.show_alert
    answers = await sandbox.get(f"users/{USER}/callback-answers", query_id=query.id, wait=1)
    assert answers["answers"][0]["text"] == "A2 held"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer("again")


async def test_a_late_callback_answer_is_refused() -> None:
    # The sandbox's clock is the test's: a query's age is what the test says, however loaded the machine.
    now = [1_000.0]
    impatient = TelegramSandbox(callback_answer_deadline=15.0, clock=lambda: now[0])
    async with serve_sandbox(impatient) as running, sandbox_bot(running.url) as late_bot:
        await running.state.send_text(USER, "/start")
        sent = await late_bot.send_message(USER, "Seats", reply_markup=keyboard([("A1", "seat:1")]))
        # Given two presses of the button, the second answered just within the deadline
        late_query = await running.state.press(USER, sent.message_id, "seat:1")
        now[0] += 10.0
        timely_query = await running.state.press(USER, sent.message_id, "seat:1")
        now[0] += 15.0
        assert await late_bot.answer_callback_query(timely_query)
        # When the bot answers the first, 25 s after it was pressed
        # Then Telegram refuses it as too old
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await late_bot.answer_callback_query(late_query)


async def test_only_buttons_on_the_message_can_be_pressed_unless_forged(bot: Bot, sandbox: Sandbox) -> None:
    await sandbox.state.send_text(USER, "/start")
    sent = await bot.send_message(USER, "Seats", reply_markup=keyboard([("A1", "seat:1")]))
    await bot.edit_message_reply_markup(
        USER, sent.message_id, reply_markup=keyboard([("A1 ✓", "seat:1:held")])
    )
    # The old button is gone: a press of it is refused, by the helper and over HTTP
    with pytest.raises(SandboxError):
        await sandbox.state.press(USER, sent.message_id, "seat:1")
    status, refused = await sandbox.post(
        f"users/{USER}/press", {"message_id": sent.message_id, "callback_data": "seat:1"}
    )
    assert status == 400 and not refused["ok"]
    before = len(sandbox.state.updates.pending)
    # A forged (stale) press goes through, for the bot to cope with
    status, _ = await sandbox.post(
        f"users/{USER}/press", {"message_id": sent.message_id, "callback_data": "seat:1", "forge": True}
    )
    assert status == 200 and len(sandbox.state.updates.pending) == before + 1
    # A press on a deleted message reaches the bot as an inaccessible message
    await bot.delete_message(USER, sent.message_id)
    with pytest.raises(SandboxError):
        await sandbox.state.press(USER, sent.message_id, "seat:1:held")
    await sandbox.state.press(USER, sent.message_id, "seat:1:held", forge=True)
    last = (await bot.get_updates())[-1].callback_query
    assert last is not None and last.data == "seat:1:held"
    assert last.message is not None and not last.message.is_accessible


# -- the user side -------------------------------------------------------------------------------


async def test_location_contact_and_reply_keyboard(bot: Bot, sandbox: Sandbox) -> None:
    await sandbox.post(f"users/{USER}/messages", {"text": "/start"})
    share = ReplyKeyboardMarkup(
        [
            [KeyboardButton("📍 Share location", request_location=True)],
            [KeyboardButton("📞 Share phone", request_contact=True)],
        ],
        one_time_keyboard=True,
    )
    await bot.send_message(USER, "Where are you?", reply_markup=share)
    chat = await sandbox.get(f"users/{USER}/chat")
    assert chat["reply_keyboard"]["keyboard"][0][0]["request_location"] is True
    status, _ = await sandbox.post(f"users/{USER}/location", {"latitude": 52.52, "longitude": 13.405})
    assert status == 200
    assert (await sandbox.get(f"users/{USER}/chat"))["reply_keyboard"] is None  # one-time keyboard used up
    await sandbox.post(f"users/{USER}/contact", {"phone_number": "+4915112345678"})
    updates = await bot.get_updates()
    location = updates[-2].message.location  # type: ignore[union-attr]
    contact = updates[-1].message.contact  # type: ignore[union-attr]
    assert location is not None and (location.latitude, location.longitude) == (52.52, 13.405)
    assert contact is not None and contact.phone_number == "+4915112345678" and contact.user_id == USER


async def test_chat_read_waits_for_the_bots_answer(bot: Bot, sandbox: Sandbox) -> None:
    _, sent = await sandbox.post(f"users/{USER}/messages", {"text": "/start"})
    user_message_id = sent["messages"][-1]["message_id"]
    waiting = asyncio.create_task(sandbox.get(f"users/{USER}/chat", after=user_message_id, wait=5))
    await until_waiting(sandbox.state.chat_state(USER).changed)
    assert not waiting.done()
    await bot.send_message(USER, "Welcome!")
    chat = await asyncio.wait_for(waiting, 2)
    assert [(m["from"], m["text"]) for m in chat["messages"]] == [("bot", "Welcome!")]
    # Waiting on a version sees edits too
    version = chat["version"]
    edit = asyncio.create_task(sandbox.get(f"users/{USER}/chat", version=version, wait=5))
    await until_waiting(sandbox.state.chat_state(USER).changed)
    await bot.edit_message_text("Welcome back!", USER, chat["messages"][0]["message_id"])
    edited = (await asyncio.wait_for(edit, 2))["messages"][-1]
    assert (edited["text"], edited["edit_count"]) == ("Welcome back!", 1)


# -- the real Application ------------------------------------------------------------------------


async def test_application_answers_start_through_the_sandbox(sandbox: Sandbox) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Greet the user."""
        assert update.effective_message is not None and update.effective_user is not None
        await update.effective_message.reply_text(f"Hello, {update.effective_user.first_name}!")

    app = Application.builder().token(TOKEN).base_url(f"{sandbox.url}/bot").build()
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.05)
        try:
            sent = await sandbox.state.send_text(USER, "/start", first_name="Ada")
            reply = await sandbox.state.wait_for_bot_message(USER, after=sent.message_id, timeout=5)
            assert reply.text == "Hello, Ada!" and reply.reply_to_message_id is None
            # The same over HTTP, as the web chat does it
            _, posted = await sandbox.post(
                f"users/{USER + 1}/messages", {"text": "/start", "first_name": "Bob"}
            )
            after = posted["messages"][-1]["message_id"]
            chat = await sandbox.get(f"users/{USER + 1}/chat", after=after, wait=5)
            assert [m["text"] for m in chat["messages"]] == ["Hello, Bob!"]
        finally:
            await app.updater.stop()
            await app.stop()
