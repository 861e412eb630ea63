"""Shows: a movie's shows in a city, one local day at a time, grouped by cinema, with free seats."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

from telegram import Update

from booking_core.holds.seat_map import SeatState
from booking_core.holds.store import HoldStore
from booking_core.models import utc_now
from bot import context as ctx
from bot.codec import Action
from bot.context import BotApplication, BotContext
from bot.replies import answer, pressed, show, stale
from bot.routing import on_button
from bot.views.catalogue import cities_screen, day_from_code, no_shows_screen, pick_day, shows_screen
from bot.views.format import local

log = logging.getLogger(__name__)


async def movie(update: Update, context: BotContext) -> None:
    """The MOVIE button: the movie's shows on the first day that has any."""
    callback = pressed(update)
    if callback is None:
        return
    city_id, movie_id = callback.args
    await _shows(update, context, city_id, movie_id, None)


async def shows_day(update: Update, context: BotContext) -> None:
    """The SHOWS_DAY button: the movie's shows on another day."""
    callback = pressed(update)
    if callback is None:
        return
    city_id, movie_id, code = callback.args
    await _shows(update, context, city_id, movie_id, day_from_code(code))


async def _shows(update: Update, context: BotContext, city_id: int, movie_id: int, day: date | None) -> None:
    core = ctx.core(context)
    now = utc_now()
    movies = await core.catalogue.movies_in_city(city_id, now)
    chosen = next((listed for listed in movies if listed.id == movie_id), None)
    schedules = await core.catalogue.shows_of_movie(movie_id, city_id, now) if chosen else ()
    picked = pick_day(schedules, day)
    if chosen is None or picked is None:
        # Only a stale button needs the city (shows of the movie there say it is still listed).
        cities = await core.catalogue.cities()
        city = next((listed for listed in cities if listed.id == city_id), None)
        if city is None:
            await stale(update, context, "That city is no longer listed.", cities_screen(cities))
        else:
            await stale(update, context, "That movie has no more shows here.", no_shows_screen(city, movies))
        return
    await answer(update)
    show_ids = [show_time.show_id for _, shows in picked.cinemas for show_time in shows]
    free = await free_seats(core.holds, show_ids)
    today = local(now, picked.cinemas[0][0].cinema.timezone).date()
    await show(
        update,
        context,
        shows_screen(city_id, chosen, picked, free, today, ctx.settings(context).miniapp_url, now),
    )


async def free_seats(holds: HoldStore, show_ids: Iterable[int]) -> dict[int, int | None]:
    """Free seats per show (None where Redis could not say), read in one round trip."""
    ids = list(show_ids)
    try:
        maps = await holds.seat_maps(ids, None)
    except Exception:
        log.warning("free seats of shows %s unknown", ids, exc_info=True)
        return dict.fromkeys(ids)
    return {seat_map.show_id: len(seat_map.seats_in(SeatState.FREE)) for seat_map in maps}


def register(application: BotApplication) -> None:
    """Add the MOVIE and SHOWS_DAY buttons."""
    application.add_handler(on_button(movie, Action.MOVIE))
    application.add_handler(on_button(shows_day, Action.SHOWS_DAY))
