"""Buttons no handler claims (stale or forged callback data): a short alert and a fresh start screen,
never an exception. Registered after every other handler."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot import context as ctx
from bot.context import BotApplication, BotContext
from bot.replies import stale
from bot.views.catalogue import cities_screen

OUT_OF_DATE = "This button is out of date. Here's a fresh start."


async def unknown_button(update: Update, context: BotContext) -> None:
    """Callback data the codec refuses (an old version, a forged or mangled button)."""
    await stale(update, context, OUT_OF_DATE, cities_screen(await ctx.core(context).catalogue.cities()))


def register(application: BotApplication) -> None:
    """Add the catch-all for every button no other handler took."""
    application.add_handler(CallbackQueryHandler(unknown_button))
