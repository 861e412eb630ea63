"""Routing a button press to its handler by the codec action its callback data carries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram.ext import CallbackQueryHandler

from bot.codec import Action, decode


def for_actions(*actions: Action) -> Callable[[object], bool]:
    """A CallbackQueryHandler pattern matching callback data that decodes to one of `actions`."""
    wanted = frozenset(actions)

    def matches(data: object) -> bool:
        decoded = decode(data) if isinstance(data, str) else None
        return decoded is not None and decoded.action in wanted

    return matches


def on_button(callback: Any, *actions: Action) -> CallbackQueryHandler[Any, Any]:
    """A handler for presses of buttons with one of `actions`."""
    return CallbackQueryHandler(callback, pattern=for_actions(*actions))
