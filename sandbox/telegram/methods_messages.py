"""Bot API methods that send, edit and delete messages and answer button presses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.telegram import errors
from sandbox.telegram.errors import ApiError, bad_request
from sandbox.telegram.formatting import parse_html
from sandbox.telegram.limits import check_callback_answer, check_caption, check_reply_markup, check_text
from sandbox.telegram.params import Params
from sandbox.telegram.state import TelegramSandbox

Method = Callable[[TelegramSandbox, Params], Awaitable[Any]]

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


def chat_id_of(params: Params) -> int:
    """The chat_id parameter; only numeric ids of private chats exist here."""
    if not params.has("chat_id"):
        raise bad_request("chat_id is empty")
    try:
        return int(params.values["chat_id"])
    except (TypeError, ValueError):
        raise ApiError(errors.CHAT_NOT_FOUND) from None


def message_id_of(params: Params) -> int:
    """The message_id parameter of an edit or delete (inline messages do not exist here)."""
    if params.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    message_id = params.get_int("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    return message_id


def formatted(
    params: Params, field: str, entities_field: str
) -> tuple[str | None, list[dict[str, Any]] | None]:
    """The text of `field` with its entities: parsed from HTML, or given explicitly."""
    text = params.get_str(field)
    if text is None:
        return None, None
    parse_mode = (params.get_str("parse_mode") or "").lower()
    if parse_mode == "html" and not params.has(entities_field):
        plain, entities = parse_html(text)
        return plain, entities or None
    entities = params.get_json(entities_field)
    return text, entities or None


def reply_markup_of(params: Params, inline_only: bool = False) -> dict[str, Any] | None:
    """The reply_markup parameter, checked against the Bot API's limits."""
    markup = check_reply_markup(params.get_json("reply_markup", unparsable=errors.REPLY_MARKUP_UNPARSABLE))
    if inline_only and markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    return markup


def _reply_to(state: TelegramSandbox, params: Params, chat_id: int) -> int | None:
    reply = params.get_json("reply_parameters") or {}
    message_id = reply.get("message_id") if isinstance(reply, dict) else None
    message_id = message_id or params.get_int("reply_to_message_id")
    if message_id is None:
        return None
    chat = state.bot_chat(chat_id)
    if int(message_id) not in chat.messages:
        if not (isinstance(reply, dict) and reply.get("allow_sending_without_reply")):
            raise bad_request("message to be replied not found")
        return None
    return int(message_id)


async def send_message(state: TelegramSandbox, params: Params) -> dict[str, Any]:
    """sendMessage."""
    chat_id = chat_id_of(params)
    text, entities = formatted(params, "text", "entities")
    check_text(text)
    markup = reply_markup_of(params)
    reply_to = _reply_to(state, params, chat_id)
    message = state.bot_send(chat_id, markup, text=text, entities=entities, reply_to_message_id=reply_to)
    return state.message_api(message)


async def _send_file(state: TelegramSandbox, params: Params, kind: str) -> dict[str, Any]:
    chat_id = chat_id_of(params)
    caption, caption_entities = formatted(params, "caption", "caption_entities")
    check_caption(caption)
    markup = reply_markup_of(params)
    reply_to = _reply_to(state, params, chat_id)
    state.bot_chat(chat_id)  # an unknown chat is refused before the upload is stored
    if not params.has(kind) and params.upload(kind) is None:
        raise bad_request(f"there is no {kind} in the request")
    stored = state.files.resolve(kind, params.upload(kind), params.get_str(kind))
    media = {"photo": stored.photo_sizes()} if kind == "photo" else {"document": stored.document()}
    message = state.bot_send(
        chat_id,
        markup,
        caption=caption or None,
        caption_entities=caption_entities,
        reply_to_message_id=reply_to,
        **media,
    )
    return state.message_api(message)


async def send_photo(state: TelegramSandbox, params: Params) -> dict[str, Any]:
    """sendPhoto (an upload, an earlier file_id, or a URL that is recorded but not fetched)."""
    return await _send_file(state, params, "photo")


async def send_document(state: TelegramSandbox, params: Params) -> dict[str, Any]:
    """sendDocument."""
    return await _send_file(state, params, "document")


async def edit_message_text(state: TelegramSandbox, params: Params) -> dict[str, Any]:
    """editMessageText (leaving out reply_markup removes the inline keyboard, as in the Bot API)."""
    chat_id, message_id = chat_id_of(params), message_id_of(params)
    text, entities = formatted(params, "text", "entities")
    check_text(text)
    markup = reply_markup_of(params, inline_only=True)
    message = state.bot_edit(chat_id, message_id, "text", text=text, entities=entities, reply_markup=markup)
    return state.message_api(message)


async def edit_message_caption(state: TelegramSandbox, params: Params) -> dict[str, Any]:
    """editMessageCaption (no caption removes it)."""
    chat_id, message_id = chat_id_of(params), message_id_of(params)
    caption, entities = formatted(params, "caption", "caption_entities")
    check_caption(caption)
    markup = reply_markup_of(params, inline_only=True)
    message = state.bot_edit(
        chat_id,
        message_id,
        "caption",
        caption=caption or None,
        caption_entities=entities,
        reply_markup=markup,
    )
    return state.message_api(message)


async def edit_message_media(state: TelegramSandbox, params: Params) -> dict[str, Any]:
    """editMessageMedia with an InputMediaPhoto or InputMediaDocument (attach://, file_id or URL)."""
    chat_id, message_id = chat_id_of(params), message_id_of(params)
    media = params.get_json("media")
    if not isinstance(media, dict) or media.get("type") not in ("photo", "document"):
        raise bad_request("can't parse InputMedia: media type must be photo or document here")
    reference = str(media.get("media", ""))
    upload = params.upload(reference.removeprefix("attach://")) if reference.startswith("attach://") else None
    stored = state.files.resolve(media["type"], upload, reference)
    inner = Params({k: v for k, v in media.items() if k in ("caption", "parse_mode", "caption_entities")})
    caption, entities = formatted(inner, "caption", "caption_entities")
    check_caption(caption)
    markup = reply_markup_of(params, inline_only=True)
    content: dict[str, Any] = {"photo": None, "document": None}
    content.update(
        {"photo": stored.photo_sizes()} if media["type"] == "photo" else {"document": stored.document()}
    )
    message = state.bot_edit(
        chat_id,
        message_id,
        "media",
        caption=caption or None,
        caption_entities=entities,
        reply_markup=markup,
        **content,
    )
    return state.message_api(message)


async def edit_message_reply_markup(state: TelegramSandbox, params: Params) -> dict[str, Any]:
    """editMessageReplyMarkup (no reply_markup removes the inline keyboard)."""
    chat_id, message_id = chat_id_of(params), message_id_of(params)
    markup = reply_markup_of(params, inline_only=True)
    message = state.bot_edit(chat_id, message_id, "reply_markup", reply_markup=markup)
    return state.message_api(message)


async def delete_message(state: TelegramSandbox, params: Params) -> bool:
    """deleteMessage."""
    state.bot_delete(chat_id_of(params), message_id_of(params))
    return True


async def delete_messages(state: TelegramSandbox, params: Params) -> bool:
    """deleteMessages: deletes those that exist, like the Bot API."""
    chat_id = chat_id_of(params)
    for message_id in params.get_json("message_ids") or []:
        try:
            state.bot_delete(chat_id, int(message_id))
        except ApiError as error:
            if error.description != errors.MESSAGE_TO_DELETE_NOT_FOUND:
                raise
    return True


async def answer_callback_query(state: TelegramSandbox, params: Params) -> bool:
    """answerCallbackQuery: once per press, before the deadline."""
    text = params.get_str("text")
    check_callback_answer(text)
    state.bot_answer_callback(
        params.get_str("callback_query_id") or "",
        text or None,
        params.get_bool("show_alert"),
        params.get_str("url"),
    )
    return True


async def send_chat_action(state: TelegramSandbox, params: Params) -> bool:
    """sendChatAction."""
    action = params.get_str("action") or ""
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    state.bot_chat_action(chat_id_of(params), action)
    return True


MESSAGE_METHODS: dict[str, Method] = {
    "sendmessage": send_message,
    "sendphoto": send_photo,
    "senddocument": send_document,
    "editmessagetext": edit_message_text,
    "editmessagecaption": edit_message_caption,
    "editmessagemedia": edit_message_media,
    "editmessagereplymarkup": edit_message_reply_markup,
    "deletemessage": delete_message,
    "deletemessages": delete_messages,
    "answercallbackquery": answer_callback_query,
    "sendchataction": send_chat_action,
}
