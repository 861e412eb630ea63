"""Before anything else handles an update: log every line written for it under its update id."""

from __future__ import annotations

from telegram import Update
from telegram.ext import TypeHandler

from booking_core.log_context import correlation_id
from bot.context import BotApplication, BotContext

# Runs before every other group; each update is handled in a task of its own, so the id stays its own.
FIRST = -100


async def tag_update(update: Update, _context: BotContext) -> None:
    """Set the correlation id of this update's log lines."""
    correlation_id.set(f"update:{update.update_id}")


def register(application: BotApplication) -> None:
    """Add the tagging handler in the first group."""
    application.add_handler(TypeHandler(Update, tag_update), group=FIRST)
