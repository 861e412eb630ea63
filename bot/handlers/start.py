"""Start and city: /start greets the user with the list of cities (one message, whose "nearest city"
button asks for a location); sharing a location picks the nearest city with cinemas and lists its
movies."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, MessageHandler, filters

from booking_core.bookings.customers import get_or_create_customer
from booking_core.models import utc_now
from bot import context as ctx
from bot.codec import Action
from bot.context import BotApplication, BotContext
from bot.replies import answer, send, show
from bot.routing import on_button
from bot.views.catalogue import (
    cities_screen,
    location_keyboard,
    location_prompt,
    movies_screen,
    nearest_city_line,
    welcome_screen,
)


async def start(update: Update, context: BotContext) -> None:
    """/start: remember the customer, greet them with the cities (one message)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    core = ctx.core(context)
    await get_or_create_customer(core.sessions, user.id, chat.id, user.full_name)
    await send(context.bot, chat.id, welcome_screen(user.first_name, await core.catalogue.cities()))


async def ask_location(update: Update, context: BotContext) -> None:
    """The LOCATION_ASK button: send the location-sharing keyboard."""
    chat = update.effective_chat
    await answer(update)
    if chat is not None:
        await send(context.bot, chat.id, location_prompt(), reply_markup=location_keyboard())


async def cities(update: Update, context: BotContext) -> None:
    """The CITIES button: the list of cities, in place."""
    await answer(update)
    await show(update, context, cities_screen(await ctx.core(context).catalogue.cities()))


async def location(update: Update, context: BotContext) -> None:
    """A shared location: the movies of the nearest city with cinemas."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or message.location is None or chat is None:
        return
    catalogue = ctx.core(context).catalogue
    nearest = await catalogue.nearest_city(message.location.latitude, message.location.longitude)
    if nearest is None:
        await send(context.bot, chat.id, cities_screen(()))
        return
    movies = await catalogue.movies_in_city(nearest.city.id, utc_now())
    await send(context.bot, chat.id, movies_screen(nearest.city, movies, heading=nearest_city_line(nearest)))


def register(application: BotApplication) -> None:
    """Add /start, the CITIES button and shared locations."""
    application.add_handler(CommandHandler("start", start))
    application.add_handler(on_button(cities, Action.CITIES))
    application.add_handler(on_button(ask_location, Action.LOCATION_ASK))
    application.add_handler(MessageHandler(filters.LOCATION, location))
