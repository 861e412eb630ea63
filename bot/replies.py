"""How the bot answers: the callback query first, then the same message edited in place.

Navigation never piles up messages: a button's screen replaces the message the button was on
(text edited, photo swapped), "message is not modified" counts as success, and only a change of kind
(text to photo or back) sends a new message and deletes the old one. A message that cannot be edited
any more (deleted, too old) gets the screen as a new message instead.

An edit answers with the pressed message itself (with the new photo, for a picture swapped): its chat,
id and photo are what callers use. Telegram's answer (the whole message again, up to 100 buttons) is
not turned into python-telegram-bot objects, which cost more than anything else in a tap; a message
sent comes back as its chat, id, date, text or caption and photo (no entities, no keyboard). The
keyboard goes out as JSON put together from each button's, made once per button: python-telegram-bot
serialises a keyboard object anew for every call, which cost a third of a seat-map edit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from telegram import (
    Bot,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    LinkPreviewOptions,
    Message,
    PhotoSize,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackContext

from bot.bot_api_http import JsonText
from bot.codec import Callback, decode
from bot.flood_control import Traffic
from bot.views.screen import Screen

log = logging.getLogger(__name__)

_NOT_MODIFIED = "message is not modified"
# Edits Telegram refuses for good: the screen goes out as a new message instead.
_CANNOT_EDIT = (
    "message to edit not found",
    "message can't be edited",
    "there is no text in the message to edit",
    "there is no caption in the message to edit",
    "there is no media in the message to edit",
)
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# Buttons whose JSON is kept (the seat map's buttons are made once each: bot/views/seat_keyboard.py).
BUTTONS_KEPT = 65_536


def pressed(update: Update) -> Callback | None:
    """The decoded button of a callback query; None when its data is not ours (stale or forged)."""
    query = update.callback_query
    return decode(query.data) if query is not None else None


async def answer(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer the update's callback query (a toast, or an alert); a too-old query is only logged."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text=text, show_alert=alert)
    except BadRequest as error:
        # "query is too old" or already answered: the screen that follows still tells the user.
        log.info("callback query %s not answered: %s", query.id, error.message)


async def show(
    update: Update,
    context: CallbackContext[Any, Any, Any, Any],
    screen: Screen,
    traffic: Traffic | None = None,
) -> Message | None:
    """Show `screen`: in place of the pressed button's message, else as a new message in the chat.

    `traffic` (bot/flood_control.py) gives an edit its screen turn, so an older screen never overtakes it.
    """
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        return await replace(context.bot, query.message, screen, traffic)
    chat = update.effective_chat
    if chat is None:
        return None
    return await send(context.bot, chat.id, screen)


async def stale(
    update: Update, context: CallbackContext[Any, Any, Any, Any], notice: str, screen: Screen
) -> Message | None:
    """A button that no longer applies: a short alert saying why, then a fresh screen in its place."""
    await answer(update, notice, alert=True)
    return await show(update, context, screen)


async def send(bot: Bot, chat_id: int, screen: Screen, **extra: Any) -> Message:
    """Send `screen` as a new message (`extra` goes to the Bot API call, e.g. a reply keyboard, but
    `rate_limit_args` to the rate limiter); the message comes back as its chat, id, date, text or caption
    and photo."""
    limits = {"rate_limit_args": extra.pop("rate_limit_args")} if "rate_limit_args" in extra else {}
    markup = extra.pop("reply_markup", screen.keyboard)
    params: dict[str, Any] = {
        "chat_id": chat_id,
        "parse_mode": ParseMode.HTML,
        "reply_markup": keyboard_json(markup) if isinstance(markup, InlineKeyboardMarkup) else markup,
        **extra,
    }
    if screen.photo is not None:
        photo = screen.photo if isinstance(screen.photo, str) else InputFile(screen.photo)
        sent = await bot.do_api_request(
            "sendphoto", api_kwargs=params | {"photo": photo, "caption": screen.text}, **limits
        )
    else:
        text = {"text": screen.text, "link_preview_options": _NO_PREVIEW}
        sent = await bot.do_api_request("sendmessage", api_kwargs=params | text, **limits)
    if not isinstance(sent, dict):
        raise TelegramError(f"a sent message was answered with {sent!r}")
    # Only what callers read is made into objects (module docstring).
    chat = sent["chat"]
    message = Message(
        sent["message_id"],
        datetime.fromtimestamp(sent["date"], UTC),
        Chat(chat["id"], chat["type"]),
        text=sent.get("text"),
        caption=sent.get("caption"),
        photo=PhotoSize.de_list(sent.get("photo") or [], bot),
    )
    message.set_bot(bot)
    return message


async def replace(bot: Bot, message: Message, screen: Screen, traffic: Traffic | None = None) -> Message:
    """Put `screen` where `message` is: edited in place when the kind matches, else sent anew."""
    edit: Awaitable[Message]
    if screen.photo is None and message.text is not None:
        params = {"text": screen.text, "parse_mode": ParseMode.HTML, "link_preview_options": _NO_PREVIEW}
        edit = _edit_in_place(bot, "editMessageText", message, screen, traffic, params)
    elif screen.photo is not None and message.photo:
        media = InputMediaPhoto(screen.photo, caption=screen.text, parse_mode=ParseMode.HTML)
        edit = _edit_in_place(bot, "editMessageMedia", message, screen, traffic, {"media": media})
    else:
        return await _swap(bot, message, screen)
    return await _edited(bot, message, screen, edit)


async def recaption(bot: Bot, message: Message, screen: Screen, traffic: Traffic | None = None) -> Message:
    """Change only the caption and keyboard of photo `message` to `screen`'s; its picture stays."""
    params = {"caption": screen.text, "parse_mode": ParseMode.HTML}
    edit = _edit_in_place(bot, "editMessageCaption", message, screen, traffic, params)
    return await _edited(bot, message, screen, edit)


async def _edit_in_place(
    bot: Bot, method: str, message: Message, screen: Screen, traffic: Traffic | None, params: dict[str, Any]
) -> Message:
    """Edit `message` by Bot API `method` with `params` and `screen`'s keyboard; `message` when done,
    with the photo Telegram answered with when the edit sent one (its file id serves the same picture
    again). When the edit did not go out (an older screen, or one a newer edit replaced while both
    waited: bot/flood_control.py), `message` as it was.

    Called by its lower-case name (Bot API method names are case-insensitive), which python-telegram-bot
    sends as it is, without its warning for a method it has a function for, and answers with Telegram's
    JSON (see the module docstring); the rate limiter sees it like any other edit.
    """
    params |= {
        "chat_id": message.chat_id,
        "message_id": message.message_id,
        "reply_markup": keyboard_json(screen.keyboard),
    }
    edited = await bot.do_api_request(method.lower(), api_kwargs=params, **_limits(traffic))
    photo = edited.get("photo") if isinstance(edited, dict) and "media" in params else None
    if not photo:
        return message
    shown = Message(message.message_id, message.date, message.chat, photo=PhotoSize.de_list(photo, bot))
    shown.set_bot(bot)
    return shown


def keyboard_json(markup: InlineKeyboardMarkup | None) -> JsonText | None:
    """The keyboard as the Bot API's JSON (it goes out as it is: bot/bot_api_http.py)."""
    if markup is None:
        return None
    rows = ("[" + ",".join(map(_button_json, row)) + "]" for row in markup.inline_keyboard)
    return JsonText('{"inline_keyboard":[' + ",".join(rows) + "]}")


def _button_json(button: InlineKeyboardButton) -> str:
    # The views make each button once (bot/views/screen.py, seat_keyboard.py): found by identity first,
    # which is cheaper than python-telegram-bot's hash of a button. The entry holds the button, so its
    # id is not reused while the entry is there.
    found = _json_by_id.get(id(button))
    if found is not None and found[0] is button:
        return found[1]
    if button.copy_text is None and button.switch_inline_query_chosen_chat is None and not button.api_kwargs:
        # Every other field counts in python-telegram-bot's equality: equal buttons, equal JSON.
        text = _kept_button_json(button)
    else:
        text = _as_json(button)
    if len(_json_by_id) >= BUTTONS_KEPT:
        _json_by_id.clear()
    _json_by_id[id(button)] = (button, text)
    return text


_json_by_id: dict[int, tuple[InlineKeyboardButton, str]] = {}


@lru_cache(maxsize=BUTTONS_KEPT)
def _kept_button_json(button: InlineKeyboardButton) -> str:
    return _as_json(button)


def _as_json(button: InlineKeyboardButton) -> str:
    return json.dumps(button.to_dict(), ensure_ascii=False, separators=(",", ":"))


def _limits(traffic: Traffic | None) -> dict[str, Any]:
    return {"rate_limit_args": traffic} if traffic is not None else {}


async def _edited(bot: Bot, message: Message, screen: Screen, edit: Awaitable[Message]) -> Message:
    """The message after `edit`; "not modified" is success, an edit refused for good sends anew."""
    try:
        edited = await edit
    except BadRequest as error:
        reason = error.message.lower()
        if _NOT_MODIFIED in reason:
            return message
        if any(refusal in reason for refusal in _CANNOT_EDIT):
            return await send(bot, message.chat_id, screen)
        raise
    return edited


async def _swap(bot: Bot, message: Message, screen: Screen) -> Message:
    """A text screen over a photo (or the reverse): the new message first, then the old one goes."""
    sent = await send(bot, message.chat_id, screen)
    try:
        await bot.delete_message(message.chat_id, message.message_id)
    except TelegramError as error:
        # Older than 48 hours, or already gone: the new screen is what matters.
        log.info("message %s not deleted: %s", message.message_id, error)
    return sent
