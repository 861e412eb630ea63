"""The Telegram sandbox's Bot API as the real python-telegram-bot Bot sees it: messages, limits, photos."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    InputMediaPhoto,
    Message,
)
from telegram.error import BadRequest, Forbidden, RetryAfter

from sandbox.telegram import (
    FloodLimits,
    TelegramSandbox,
    create_telegram_sandbox_app,
)
from sandbox.telegram import errors as api_errors
from tests.sandbox.telegram_harness import (
    TOKEN,
    USER,
    Sandbox,
    api_message,
    expected,
    keyboard,
    png,
    sandbox_bot,
    serve_sandbox,
)

# -- sending and editing -------------------------------------------------------------------------


async def test_get_me_answers_with_the_sandbox_bot(bot: Bot, sandbox: Sandbox) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.username == sandbox.state.bot["username"]
    assert sandbox.state.calls_to("getMe")[-1].ok


async def test_sent_message_is_a_real_message_and_appears_in_the_chat(bot: Bot, sandbox: Sandbox) -> None:
    # Given a user who started the bot
    await sandbox.state.send_text(USER, "/start")
    # When the bot answers with an inline keyboard
    sent = await bot.send_message(
        USER, "Pick a show", reply_markup=keyboard([("19:00", "s:1"), ("21:30", "s:2")])
    )
    # Then the Bot API answer is a full Message from the bot
    assert sent.chat.id == USER and sent.from_user is not None and sent.from_user.is_bot
    assert sent.text == "Pick a show" and sent.message_id == 2
    assert sent.reply_markup is not None and sent.reply_markup.inline_keyboard[0][1].callback_data == "s:2"
    # And the user's chat shows it after their /start
    chat = sandbox.state.chat(USER)
    assert [(m.sender, m.text) for m in chat] == [("user", "/start"), ("bot", "Pick a show")]
    assert chat[1].callback_data() == ["s:1", "s:2"]


async def test_edits_apply_to_the_history_and_an_edit_without_markup_drops_the_keyboard(
    bot: Bot, sandbox: Sandbox
) -> None:
    await sandbox.state.send_text(USER, "/start")
    sent = await bot.send_message(USER, "Seat map", reply_markup=keyboard([("A1", "seat:1")]))
    edited = await bot.edit_message_text(
        "Seat map (A1 held)", USER, sent.message_id, reply_markup=keyboard([("A1 ✓", "seat:1")])
    )
    assert isinstance(edited, Message)  # True is only for inline-mode messages
    assert edited.edit_date is not None and edited.text == "Seat map (A1 held)"
    await bot.edit_message_text("Booked", USER, sent.message_id)
    message = sandbox.state.chat(USER)[-1]
    assert (message.text, message.edit_count, message.reply_markup) == ("Booked", 2, None)
    assert message.edits[0]["text"] == "Seat map"


async def test_editing_to_the_same_content_is_not_modified(bot: Bot, sandbox: Sandbox) -> None:
    await sandbox.state.send_text(USER, "/start")
    markup = keyboard([("A1", "seat:1")])
    sent = await bot.send_message(USER, "Seat map", reply_markup=markup)
    with pytest.raises(BadRequest) as refused:
        await bot.edit_message_text("Seat map", USER, sent.message_id, reply_markup=markup)
    assert api_message(refused.value) == expected(api_errors.MESSAGE_NOT_MODIFIED)
    with pytest.raises(BadRequest):
        await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=markup)
    # A different keyboard with the same text is a modification
    await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard([("A1 ✓", "seat:1")]))
    assert sandbox.state.chat(USER)[-1].edit_count == 1


async def test_html_is_parsed_into_entities_and_bad_markup_is_refused(bot: Bot, sandbox: Sandbox) -> None:
    await sandbox.state.send_text(USER, "/start")
    sent = await bot.send_message(USER, "<b>Dune</b> &amp; 🎬 <i>hall 2</i>", parse_mode="HTML")
    assert sent.text == "Dune & 🎬 hall 2"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 4), ("italic", 10, 6)]
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "Fast <Furious>", parse_mode="HTML")


@pytest.mark.parametrize(
    ("case", "description"),
    [
        ("long text", api_errors.MESSAGE_TOO_LONG),
        ("empty text", api_errors.MESSAGE_TEXT_EMPTY),
        ("callback data of 65 bytes", api_errors.BUTTON_DATA_INVALID),
        ("9 buttons in a row", api_errors.REPLY_MARKUP_TOO_LONG),
        ("101 buttons", api_errors.REPLY_MARKUP_TOO_LONG),
        ("long caption", api_errors.CAPTION_TOO_LONG),
    ],
)
async def test_each_limit_is_refused_with_the_real_description(
    bot: Bot, sandbox: Sandbox, case: str, description: str
) -> None:
    await sandbox.state.send_text(USER, "/start")
    with pytest.raises(BadRequest) as refused:
        if case == "long text":
            await bot.send_message(USER, "x" * 4097)
        elif case == "empty text":
            await bot.send_message(USER, "   ")
        elif case == "callback data of 65 bytes":
            # 33 characters, 66 bytes: the limit counts bytes
            await bot.send_message(USER, "seats", reply_markup=keyboard([("A1", "é" * 33)]))
        elif case == "9 buttons in a row":
            await bot.send_message(USER, "seats", reply_markup=keyboard([(str(n), str(n)) for n in range(9)]))
        elif case == "101 buttons":
            rows = [[(f"{r}-{n}", f"{r}-{n}") for n in range(1 if r == 12 else 8)] for r in range(13)]
            assert sum(map(len, rows)) == 97
            rows.append([(f"x{n}", f"x{n}") for n in range(4)])
            await bot.send_message(USER, "seats", reply_markup=keyboard(*rows))
        else:
            await bot.send_photo(USER, png(), caption="c" * 1025)
    assert api_message(refused.value).startswith(expected(description))
    # Nothing was stored for a refused call, and the limits themselves are allowed
    assert [m.sender for m in sandbox.state.chat(USER)] == ["user"]
    await bot.send_message(USER, "x" * 4096, reply_markup=keyboard([(str(n), "é" * 32) for n in range(8)]))
    await bot.send_photo(USER, png(), caption="c" * 1024)


async def test_unknown_chat_blocked_user_and_missing_message_are_refused(bot: Bot, sandbox: Sandbox) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "hello")
    await sandbox.state.send_text(USER, "/start")
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", USER, 77)
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("x", USER, 1)  # the user's own /start
    sandbox.state.block(USER)
    with pytest.raises(Forbidden, match=r"(?i)blocked"):
        await bot.send_message(USER, "hello")


# -- photos --------------------------------------------------------------------------------------


async def test_send_photo_uploads_multipart_and_serves_the_bytes(bot: Bot, sandbox: Sandbox) -> None:
    await sandbox.state.send_text(USER, "/start")
    picture = png(64, 32)
    sent = await bot.send_photo(
        USER, picture, caption="<b>Hall 1</b>", parse_mode="HTML", filename="hall.png"
    )
    assert (sent.photo[-1].width, sent.photo[-1].height, sent.caption) == (64, 32, "Hall 1")
    # The web chat shows it at a URL that serves the uploaded bytes
    view = (await sandbox.get(f"users/{USER}/chat"))["messages"][-1]
    assert view["kind"] == "photo" and view["caption_entities"][0]["type"] == "bold"
    async with sandbox.http.get(sandbox.url + view["photo_url"]) as answer:
        assert await answer.read() == picture
    # The bot can download it too, and resend it by file_id
    downloaded = await (await bot.get_file(sent.photo[-1].file_id)).download_as_bytearray()
    assert bytes(downloaded) == picture
    again = await bot.send_photo(USER, sent.photo[-1].file_id)
    assert again.photo[-1].file_id == sent.photo[-1].file_id


async def test_photo_media_and_caption_edits(bot: Bot, sandbox: Sandbox) -> None:
    await sandbox.state.send_text(USER, "/start")
    sent = await bot.send_photo(USER, png(), caption="Hall 1", reply_markup=keyboard([("A1", "seat:1")]))
    with pytest.raises(BadRequest, match=r"(?i)no text in the message"):
        await bot.edit_message_text("x", USER, sent.message_id)
    await bot.edit_message_caption(
        USER, sent.message_id, caption="Hall 1 (A1 held)", reply_markup=sent.reply_markup
    )
    bigger = png(80, 40)
    edited = await bot.edit_message_media(
        InputMediaPhoto(bigger, caption="Hall 1 (A1 yours)"),
        USER,
        sent.message_id,
        reply_markup=sent.reply_markup,
    )
    assert isinstance(edited, Message)
    assert edited.photo[-1].width == 80 and edited.caption == "Hall 1 (A1 yours)"
    stored = sandbox.state.chat(USER)[-1]
    assert stored.edit_count == 2 and stored.callback_data() == ["seat:1"]
    assert sandbox.state.files.get(stored.photo_file_id or "").data == bigger  # type: ignore[union-attr]
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(USER, b"not a picture")


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # raised inside RetryAfter
async def test_flood_control_answers_429_with_retry_after() -> None:
    flooding = TelegramSandbox(flood=FloodLimits(per_chat_rate=1.0, per_chat_burst=2))
    async with serve_sandbox(flooding) as running, sandbox_bot(running.url) as flooding_bot:
        await running.state.send_text(USER, "/start")
        await flooding_bot.send_message(USER, "one")
        await flooding_bot.send_message(USER, "two")
        with pytest.raises(RetryAfter):
            await flooding_bot.send_message(USER, "three")
        assert running.state.calls_to("sendMessage")[-1].description == "Too Many Requests: retry after 1"
        assert [m.text for m in running.state.chat(USER)] == ["/start", "one", "two"]


async def test_web_chat_page_and_sub_app_mounting() -> None:
    # Mounted under a prefix, the sandbox's links (photos, page assets) carry the prefix
    state = TelegramSandbox()
    parent = web.Application()
    parent.add_subapp("/tg", create_telegram_sandbox_app(state))
    runner = web.AppRunner(parent)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/tg"
    try:
        async with aiohttp.ClientSession() as http, Bot(TOKEN, base_url=f"{url}/bot") as mounted_bot:
            async with http.get(f"{url}/sandbox/telegram/chat") as page:
                assert page.status == 200 and 'src="webchat.js"' in await page.text()
            async with http.get(f"{url}/sandbox/telegram/webchat.js") as script:
                assert script.status == 200 and "press" in await script.text()
            await state.send_text(USER, "/start")
            await mounted_bot.send_photo(USER, png())
            async with http.get(f"{url}/sandbox/telegram/users/{USER}/chat") as answer:
                photo_url = (await answer.json())["messages"][-1]["photo_url"]
            assert photo_url.startswith("/tg/sandbox/telegram/files/")
    finally:
        await runner.cleanup()


async def test_set_my_commands_round_trip(bot: Bot, sandbox: Sandbox) -> None:
    await bot.set_my_commands([("start", "Start booking"), ("mytickets", "Your tickets")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "mytickets"]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([("Bad Command", "x")])
    assert (await sandbox.get("overview"))["commands"][0]["command"] == "start"


async def test_json_clients_get_the_bot_api_answer_and_error_shapes(sandbox: Sandbox) -> None:
    await sandbox.state.send_text(USER, "/start")
    method_url = f"{sandbox.url}/bot{TOKEN}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "A1", "callback_data": "seat:1"}]]}
    body = {"chat_id": USER, "text": "123", "reply_markup": markup}
    async with sandbox.http.post(method_url, json=body) as ok:
        answer = await ok.json()
    assert answer["ok"] is True and answer["result"]["text"] == "123"  # a numeric text stays a string
    assert answer["result"]["reply_markup"] == markup and answer["result"]["from"]["is_bot"] is True
    async with sandbox.http.post(method_url, json={"chat_id": USER, "text": ""}) as refused:
        assert refused.status == 400
        assert await refused.json() == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: message text is empty",
        }
    async with sandbox.http.post(f"{sandbox.url}/bot{TOKEN}/noSuchMethod") as missing:
        assert missing.status == 404 and (await missing.json())["description"] == "Not Found"
    headers = {"Content-Type": "application/json"}
    async with sandbox.http.post(method_url, data=b'{"chat_id": 1,', headers=headers) as unparsable:
        assert unparsable.status == 400
        assert (await unparsable.json())["description"] == "Bad Request: can't parse JSON object"


async def test_documents_chat_actions_and_deletion(bot: Bot, sandbox: Sandbox) -> None:
    await sandbox.state.send_text(USER, "/start")
    await bot.send_chat_action(USER, "upload_document")
    ticket = await bot.send_document(USER, b"BEGIN:VCALENDAR", filename="show.ics", caption="Your show")
    assert ticket.document is not None and ticket.document.file_name == "show.ics"
    chat = await sandbox.get(f"users/{USER}/chat")
    assert chat["last_action"]["action"] == "upload_document"
    async with sandbox.http.get(sandbox.url + chat["messages"][-1]["document"]["url"]) as download:
        assert await download.read() == b"BEGIN:VCALENDAR"
    assert await bot.delete_message(USER, ticket.message_id)
    assert [m.sender for m in sandbox.state.chat(USER)] == ["user"]
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, ticket.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message_too_long"):
        query_id = await sandbox.state.press(USER, 1, "forged", forge=True)
        await bot.answer_callback_query(query_id, text="x" * 201)
