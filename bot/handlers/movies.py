"""Movies: what is showing in a city, with runtime, age rating and language."""

from __future__ import annotations

from telegram import Update

from booking_core.models import utc_now
from bot import context as ctx
from bot.codec import Action
from bot.context import BotApplication, BotContext
from bot.replies import answer, pressed, show, stale
from bot.routing import on_button
from bot.views.catalogue import cities_screen, movies_screen


async def city(update: Update, context: BotContext) -> None:
    """The CITY button: the movies showing in that city, in place."""
    callback = pressed(update)
    if callback is None:
        return
    (city_id,) = callback.args
    catalogue = ctx.core(context).catalogue
    cities = await catalogue.cities()
    chosen = next((listed for listed in cities if listed.id == city_id), None)
    if chosen is None:
        await stale(update, context, "That city is no longer listed.", cities_screen(cities))
        return
    await answer(update)
    await show(update, context, movies_screen(chosen, await catalogue.movies_in_city(city_id, utc_now())))


def register(application: BotApplication) -> None:
    """Add the CITY button."""
    application.add_handler(on_button(city, Action.CITY))
