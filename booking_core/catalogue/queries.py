"""The read side of the catalogue: what the bot lists, cached in Redis and made stale by each import.

Listings that depend on the time ("upcoming") are cached with everything from the moment they were
computed on and filtered at each read, so a cached listing never offers a show that has started.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis
from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from booking_core.catalogue.geo import haversine_km
from booking_core.catalogue.listing_cache import ListingCache
from booking_core.catalogue.views import (
    CinemaInfo,
    CinemaSchedule,
    CityInfo,
    MovieInfo,
    NearestCity,
    SeatPrice,
    ShowDay,
    ShowDetails,
    ShowTime,
)
from booking_core.database import SessionFactory
from booking_core.hall_layout import HallLayout, load_hall_layout
from booking_core.models import Cinema, City, Hall, Movie, Show, ShowPrice


@dataclass(frozen=True)
class _ListedMovie:
    movie: MovieInfo
    last_show_at: datetime


@dataclass(frozen=True)
class _MoviesFrom:
    """Movies with shows after `since`; valid for any later moment once filtered by last show."""

    since: datetime
    movies: tuple[_ListedMovie, ...]


@dataclass(frozen=True)
class _ScheduleFrom:
    """Shows after `since`; valid for any later moment once started shows are dropped."""

    since: datetime
    cinemas: tuple[CinemaSchedule, ...]


class _Since(Protocol):
    @property
    def since(self) -> datetime: ...


_Listing = TypeVar("_Listing", bound=_Since)

_CITIES = TypeAdapter(tuple[CityInfo, ...])
_MOVIES = TypeAdapter(_MoviesFrom)
_SCHEDULE = TypeAdapter(_ScheduleFrom)
_DETAILS = TypeAdapter(ShowDetails | None)
_LAYOUT = TypeAdapter(HallLayout | None)


class CatalogueQueries:
    """Catalogue listings for the bot: cities, movies, show times, show details, hall layouts."""

    def __init__(self, sessions: SessionFactory, redis: aioredis.Redis, ttl_seconds: int = 60) -> None:
        self._sessions = sessions
        self._cache = ListingCache(redis, ttl_seconds)

    async def invalidate(self) -> None:
        """Make every cached listing stale; the importer calls this after a change."""
        await self._cache.invalidate()

    async def cities(self) -> tuple[CityInfo, ...]:
        """Cities that have at least one cinema, by name."""
        return await self._cache.get_or_compute("cities", _CITIES, self._load_cities)

    async def nearest_city(self, latitude: float, longitude: float) -> NearestCity | None:
        """The city with cinemas nearest to a point (great-circle distance), or None if there is none."""
        candidates = [
            NearestCity(city, haversine_km(latitude, longitude, city.latitude, city.longitude))
            for city in await self.cities()
        ]
        return min(candidates, key=lambda candidate: candidate.distance_km, default=None)

    async def movies_in_city(self, city_id: int, now: datetime) -> tuple[MovieInfo, ...]:
        """Movies with a show on sale in the city starting after `now`, by title."""
        _require_aware(now)
        listing = await self._fresh_enough(
            f"movies:{city_id}", _MOVIES, now, lambda: self._load_movies(city_id, now)
        )
        return tuple(listed.movie for listed in listing.movies if listed.last_show_at > now)

    async def shows_of_movie(self, movie_id: int, city_id: int, now: datetime) -> tuple[CinemaSchedule, ...]:
        """A movie's shows on sale in a city after `now`, by cinema, then by the cinema's local day."""
        _require_aware(now)
        schedule = await self._fresh_enough(
            f"shows:{movie_id}:{city_id}", _SCHEDULE, now, lambda: self._load_schedule(movie_id, city_id, now)
        )
        return _upcoming(schedule.cinemas, now)

    async def show_details(self, show_id: int) -> ShowDetails | None:
        """A show with its movie, cinema, hall and prices (past and withdrawn shows too), or None."""
        return await self._cache.get_or_compute(
            f"show:{show_id}", _DETAILS, lambda: self._load_show_details(show_id)
        )

    async def hall_layout(self, show_id: int) -> HallLayout | None:
        """The seats of the show's hall, to draw the seat map, or None if there is no such show."""
        details = await self.show_details(show_id)
        if details is None:
            return None
        hall_id = details.hall_id
        return await self._cache.get_or_compute(
            f"hall:{hall_id}", _LAYOUT, lambda: self._load_layout(hall_id)
        )

    async def _fresh_enough(
        self,
        name: str,
        shape: TypeAdapter[_Listing],
        now: datetime,
        compute: Callable[[], Awaitable[_Listing]],
    ) -> _Listing:
        # A listing computed from a later moment than `now` lacks earlier shows: skip the cache then.
        listing = await self._cache.get_or_compute(name, shape, compute)
        return listing if listing.since <= now else await compute()

    async def _load_cities(self) -> tuple[CityInfo, ...]:
        query = (
            select(City)
            .where(select(Cinema.id).where(Cinema.city_id == City.id).exists())
            .order_by(City.name)
        )
        async with self._sessions() as session:
            return tuple(_city_info(city) for city in await session.scalars(query))

    async def _load_movies(self, city_id: int, now: datetime) -> _MoviesFrom:
        last_show_at = func.max(Show.starts_at)
        query = (
            select(Movie, last_show_at)
            .join(Show, Show.movie_id == Movie.id)
            .join(Hall, Show.hall_id == Hall.id)
            .join(Cinema, Hall.cinema_id == Cinema.id)
            .where(Cinema.city_id == city_id, Show.on_sale.is_(True), Show.starts_at > now)
            .group_by(Movie.id)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        movies = sorted(
            (_ListedMovie(_movie_info(movie), last) for movie, last in rows),
            key=lambda listed: (listed.movie.title.casefold(), listed.movie.id),
        )
        return _MoviesFrom(since=now, movies=tuple(movies))

    async def _load_schedule(self, movie_id: int, city_id: int, now: datetime) -> _ScheduleFrom:
        query = (
            select(Show, Hall.name, Cinema, City.name)
            .join(Hall, Show.hall_id == Hall.id)
            .join(Cinema, Hall.cinema_id == Cinema.id)
            .join(City, Cinema.city_id == City.id)
            .where(
                Show.movie_id == movie_id,
                Cinema.city_id == city_id,
                Show.on_sale.is_(True),
                Show.starts_at > now,
            )
            .options(selectinload(Show.prices))
            .order_by(Cinema.name, Cinema.id, Show.starts_at, Hall.name)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        schedules = []
        for _, cinema_rows in groupby(rows, key=lambda row: row[2].id):
            group = list(cinema_rows)
            cinema = _cinema_info(group[0][2], group[0][3])
            times = [_show_time(show, hall_name, cinema.timezone) for show, hall_name, _, _ in group]
            schedules.append(CinemaSchedule(cinema, _by_local_day(times)))
        return _ScheduleFrom(since=now, cinemas=tuple(schedules))

    async def _load_show_details(self, show_id: int) -> ShowDetails | None:
        query = (
            select(Show, Movie, Hall.name, Cinema, City.name)
            .join(Movie, Show.movie_id == Movie.id)
            .join(Hall, Show.hall_id == Hall.id)
            .join(Cinema, Hall.cinema_id == Cinema.id)
            .join(City, Cinema.city_id == City.id)
            .where(Show.id == show_id)
            .options(selectinload(Show.prices))
        )
        async with self._sessions() as session:
            row = (await session.execute(query)).first()
        if row is None:
            return None
        show, movie, hall_name, cinema, city_name = row
        return ShowDetails(
            show_id=show.id,
            movie=_movie_info(movie),
            cinema=_cinema_info(cinema, city_name),
            hall_id=show.hall_id,
            hall_name=hall_name,
            starts_at=show.starts_at,
            currency=show.currency,
            prices=_prices(show.prices),
            on_sale=show.on_sale,
            on_sale_at=show.on_sale_at,
            sale_queue=show.sale_queue,
        )

    async def _load_layout(self, hall_id: int) -> HallLayout | None:
        async with self._sessions() as session:
            return await load_hall_layout(session, hall_id)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("naive datetime: pass an aware time")


def _city_info(city: City) -> CityInfo:
    return CityInfo(city.id, city.name, city.latitude, city.longitude, city.timezone)


def _movie_info(movie: Movie) -> MovieInfo:
    return MovieInfo(
        movie.id, movie.title, movie.runtime_minutes, movie.age_rating, movie.language, movie.synopsis
    )


def _cinema_info(cinema: Cinema, city_name: str) -> CinemaInfo:
    return CinemaInfo(
        id=cinema.id,
        name=cinema.name,
        address=cinema.address,
        city_id=cinema.city_id,
        city_name=city_name,
        latitude=cinema.latitude,
        longitude=cinema.longitude,
        timezone=cinema.timezone,
        system=cinema.system,
    )


def _prices(prices: list[ShowPrice]) -> tuple[SeatPrice, ...]:
    return tuple(SeatPrice(price.category, price.amount_minor) for price in sorted(prices, key=_by_category))


def _by_category(price: ShowPrice) -> str:
    return price.category


def _show_time(show: Show, hall_name: str, timezone: str) -> ShowTime:
    return ShowTime(
        show_id=show.id,
        hall_id=show.hall_id,
        hall_name=hall_name,
        starts_at=show.starts_at,
        timezone=timezone,
        currency=show.currency,
        prices=_prices(show.prices),
        on_sale_at=show.on_sale_at,
        sale_queue=show.sale_queue,
    )


def _local_day(show: ShowTime) -> date:
    return show.starts_at.astimezone(ZoneInfo(show.timezone)).date()


def _by_local_day(times: list[ShowTime]) -> tuple[ShowDay, ...]:
    """Shows already in start order, grouped by the day on the cinema's calendar."""
    return tuple(ShowDay(day, tuple(shows)) for day, shows in groupby(times, key=_local_day))


def _upcoming(cinemas: tuple[CinemaSchedule, ...], now: datetime) -> tuple[CinemaSchedule, ...]:
    """Drop the shows that started at or before `now`, and the days and cinemas left empty."""
    kept = []
    for schedule in cinemas:
        days = []
        for show_day in schedule.days:
            shows = tuple(show for show in show_day.shows if show.starts_at > now)
            if shows:
                days.append(ShowDay(show_day.day, shows))
        if days:
            kept.append(CinemaSchedule(schedule.cinema, tuple(days)))
    return tuple(kept)
