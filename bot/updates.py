"""What the bot takes in of an update, before python-telegram-bot turns it into objects.

A button press arrives with the whole pressed message, inline keyboard included: up to 100 buttons,
which python-telegram-bot would turn into objects on every press, the largest part of reading an
update. No handler reads that keyboard (the callback data says what was pressed, the caption what the
message shows), so it is dropped from the JSON first: polling through `UpdatesRequest`, webhooks
through `lighter_update`. So are the formatting entities of its text or caption (handlers read the
plain text) and every size of its photo but the largest (the one whose file id a handler reuses;
Telegram sends up to four): small next to the keyboard, about a fifth of what is left to parse of a
seat-map press with two bold runs and three sizes (129 against 101 us, micro-benchmark). The rest of
the pressed message (chat, id, date, text or caption) stays; a message the user sent arrives whole (its
command entities say which command it is).
"""

from __future__ import annotations

from typing import Any

from bot.bot_api_http import AiohttpRequest

# What no handler reads of a pressed message.
_UNREAD = ("reply_markup", "entities", "caption_entities")


def lighter_update(update: Any) -> Any:
    """`update` without the inline keyboard, the entities and the smaller photo sizes of a pressed
    message (changed in place, and returned); anything but a JSON object is returned as it is."""
    query = update.get("callback_query") if isinstance(update, dict) else None
    message = query.get("message") if isinstance(query, dict) else None
    if isinstance(message, dict):
        for unread in _UNREAD:
            message.pop(unread, None)
        sizes = message.get("photo")
        if isinstance(sizes, list) and len(sizes) > 1:
            message["photo"] = sizes[-1:]
    return update


class UpdatesRequest(AiohttpRequest):
    """The getUpdates client: `AiohttpRequest` on one connection, updates read through `lighter_update`."""

    def __init__(self) -> None:
        super().__init__(connections=1)

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """Telegram's answer with each update made lighter (an error answer is left as it is)."""
        answer = AiohttpRequest.parse_json_payload(payload)
        result = answer.get("result") if isinstance(answer, dict) else None
        for update in result if isinstance(result, list) else ():
            lighter_update(update)
        return answer
