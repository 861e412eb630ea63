"""The Bot API's size limits (python-telegram-bot `constants.py`) and optional flood control.

Flood control is off unless a `FloodLimits` is given: the published figures are "about 1 message/s
per chat, short bursts allowed" and "about 30/s across chats" (core.telegram.org/bots/faq); the burst
sizes are not published, so they are settings here. Sends and edits both count.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from sandbox.telegram import errors
from sandbox.telegram.errors import ApiError, bad_request, too_many_requests

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS_PER_ROW = 8
MAX_INLINE_BUTTONS = 100
MAX_REPLY_BUTTONS_PER_ROW = 12
MAX_REPLY_BUTTONS = 300
MAX_REPLY_MARKUP_BYTES = 10_000
MAX_CALLBACK_ANSWER_LENGTH = 200

_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def check_text(text: str | None) -> str:
    """The message text, refused when empty or longer than 4096 characters."""
    if text is None or not text.strip():
        raise ApiError(errors.MESSAGE_TEXT_EMPTY)
    if len(text) > MAX_TEXT_LENGTH:
        raise ApiError(errors.MESSAGE_TOO_LONG)
    return text


def check_caption(caption: str | None) -> None:
    """Refuse a caption longer than 1024 characters."""
    if caption is not None and len(caption) > MAX_CAPTION_LENGTH:
        raise ApiError(errors.CAPTION_TOO_LONG)


def check_reply_markup(markup: Any) -> dict[str, Any] | None:
    """The reply markup if it is one the Bot API accepts, else the API's Bad Request."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(errors.REPLY_MARKUP_UNPARSABLE)
    if len(orjson.dumps(markup)) > MAX_REPLY_MARKUP_BYTES:
        raise ApiError(errors.REPLY_MARKUP_TOO_LONG)
    if "inline_keyboard" in markup:
        _check_rows(markup["inline_keyboard"], MAX_INLINE_BUTTONS_PER_ROW, MAX_INLINE_BUTTONS)
        for row in markup["inline_keyboard"]:
            for button in row:
                _check_inline_button(button)
    elif "keyboard" in markup:
        _check_rows(markup["keyboard"], MAX_REPLY_BUTTONS_PER_ROW, MAX_REPLY_BUTTONS)
        for row in markup["keyboard"]:
            for button in row:
                _check_button_text(button if isinstance(button, str) else button.get("text"))
    elif not markup.get("remove_keyboard") and not markup.get("force_reply"):
        raise ApiError(errors.REPLY_MARKUP_UNPARSABLE)
    return markup


def _check_rows(rows: Any, per_row: int, total: int) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    if any(len(row) > per_row for row in rows):
        raise ApiError(f"{errors.REPLY_MARKUP_TOO_LONG}: more than {per_row} buttons in a row")
    if sum(len(row) for row in rows) > total:
        raise ApiError(errors.REPLY_MARKUP_TOO_LONG)


def _check_button_text(text: Any) -> None:
    if not isinstance(text, str) or not text:
        raise bad_request("can't parse keyboard button: Text must be non-empty")


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    _check_button_text(button.get("text"))
    actions = [name for name in _INLINE_ACTIONS if name in button]
    if not actions:
        raise ApiError(errors.TEXT_BUTTONS_UNALLOWED)
    data = button.get("callback_data")
    if "callback_data" in button and (
        not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES
    ):
        raise ApiError(errors.BUTTON_DATA_INVALID)
    url = button.get("url")
    if "url" in button and (not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://"))):
        raise bad_request("BUTTON_URL_INVALID")
    web_app = button.get("web_app")
    # Telegram takes only https Web App URLs; the sandbox serves pages on this machine, so http too.
    if "web_app" in button and (
        not isinstance(web_app, dict) or not str(web_app.get("url", "")).startswith(("http://", "https://"))
    ):
        raise bad_request("inline keyboard button Web App URL is invalid")


def check_callback_answer(text: str | None) -> None:
    """Refuse a callback answer (toast or alert) longer than 200 characters."""
    if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
        raise ApiError(errors.ANSWER_TOO_LONG)


@dataclass(frozen=True)
class FloodLimits:
    """Token-bucket flood control: a rate (per second) and a burst, per chat and across all chats."""

    per_chat_rate: float = 1.0
    per_chat_burst: int = 5
    global_rate: float = 30.0
    global_burst: int = 30


class _Bucket:
    def __init__(self, rate: float, burst: int, now: float):
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, float(burst), now

    def wait_needed(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class FloodControl:
    """Answers 429 with `retry_after` when a chat, or the bot as a whole, sends too fast."""

    def __init__(self, limits: FloodLimits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self._clock = clock
        self._global = _Bucket(limits.global_rate, limits.global_burst, clock())
        self._chats: dict[int, _Bucket] = {}

    def take(self, chat_id: int) -> None:
        """Spend one message from the chat's and the global allowance, or raise the 429 answer."""
        now = self._clock()
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Bucket(self.limits.per_chat_rate, self.limits.per_chat_burst, now)
        wait = max(chat.wait_needed(now), self._global.wait_needed(now))
        if wait > 0:
            raise too_many_requests(max(1, math.ceil(wait)))
        chat.tokens -= 1
        self._global.tokens -= 1
