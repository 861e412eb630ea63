"""The global error handler: log the failure with its traceback, then tell the user plainly to try again."""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import TelegramError

from bot.codec import Action
from bot.context import BotApplication, BotContext
from bot.replies import send
from bot.views.screen import Screen, button, keyboard

log = logging.getLogger(__name__)

SORRY = "😕 Something went wrong on our side. Please try again."


def sorry_screen() -> Screen:
    """What a user sees when their update failed."""
    return Screen(
        SORRY, keyboard([[button("🎬 Start over", Action.CITIES), button("🎟 My tickets", Action.TICKETS)]])
    )


async def on_error(update: object, context: BotContext) -> None:
    """Log the error (traceback first), then answer the press and say so in the chat."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed", update_id, exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            # Answered before the failure, perhaps: the message below tells the user all the same.
            with contextlib.suppress(TelegramError):
                await update.callback_query.answer(SORRY, show_alert=True)
        chat = update.effective_chat
        if chat is not None:
            await send(context.bot, chat.id, sorry_screen())
    except TelegramError as error:
        # Telegram itself may be what failed; nothing more can be said to the user now.
        log.warning("could not tell the user about the failure of update %s: %s", update_id, error)


def register(application: BotApplication) -> None:
    """Install the error handler."""
    application.add_error_handler(on_error)
