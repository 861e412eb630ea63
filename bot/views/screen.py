"""A screen is what one bot message shows: HTML text (or a photo's caption) and an inline keyboard.

Buttons are made here from codec actions only, so every callback data string in the bot is built by
`bot.codec.encode` and stays within Telegram's 64 bytes. The same button (label and target) is made once
and used in every keyboard that shows it: python-telegram-bot's buttons are frozen, and making one costs
more than looking it up.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.codec import Action, encode

# Telegram's limits on an inline keyboard (python-telegram-bot constants).
MAX_BUTTONS_PER_ROW = 8
MAX_BUTTONS = 100
MAX_CAPTION = 1024
# Distinct buttons kept (show times, cinemas, movies, days: a few per show and movie listed).
BUTTONS_KEPT = 65_536


@dataclass(frozen=True)
class Screen:
    """One message's content: `text` is Telegram HTML; with `photo` it becomes the photo's caption."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    # PNG bytes or a Telegram file id; a photo screen replaces a text message rather than editing it.
    photo: bytes | str | None = None

    def __post_init__(self) -> None:
        if self.photo is not None and len(self.text) > MAX_CAPTION:
            raise ValueError(f"a caption is at most {MAX_CAPTION} characters")


@lru_cache(maxsize=BUTTONS_KEPT)
def button(label: str, action: Action, *args: int) -> InlineKeyboardButton:
    """A callback button for a codec action."""
    return InlineKeyboardButton(label, callback_data=encode(action, *args))


@lru_cache(maxsize=BUTTONS_KEPT)
def url_button(label: str, url: str) -> InlineKeyboardButton:
    """A button that opens a web page."""
    return InlineKeyboardButton(label, url=url)


@lru_cache(maxsize=BUTTONS_KEPT)
def web_app_button(label: str, url: str) -> InlineKeyboardButton:
    """A button that opens a Mini App page inside Telegram."""
    return InlineKeyboardButton(label, web_app=WebAppInfo(url))


def hall_app_url(miniapp_url: str, show_id: int) -> str:
    """The Mini App page of a show's whole hall."""
    return f"{miniapp_url}/shows/{show_id}"


def in_rows(buttons: Sequence[InlineKeyboardButton], per_row: int) -> list[list[InlineKeyboardButton]]:
    """Buttons laid out `per_row` to a row (at most Telegram's 8)."""
    width = max(1, min(per_row, MAX_BUTTONS_PER_ROW))
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def keyboard(rows: Iterable[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows, empty rows dropped; ValueError past Telegram's 100 buttons."""
    kept = [list(row) for row in rows if row]
    if sum(len(row) for row in kept) > MAX_BUTTONS:
        raise ValueError(f"an inline keyboard holds at most {MAX_BUTTONS} buttons")
    return InlineKeyboardMarkup(kept)


def esc(text: str) -> str:
    """Text made safe for Telegram's HTML parse mode."""
    return html.escape(text, quote=False)
