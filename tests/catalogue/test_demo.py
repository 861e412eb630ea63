"""The demo catalogue has what the issue asks for, and its shows follow the day it is generated on."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from booking_core.catalogue import CatalogueQueries, demo_catalogue, parse_catalogue, seed_demo
from booking_core.database import SessionFactory
from tests.catalogue.samples import NOW

TODAY = date(2030, 3, 28)  # Central Europe moves its clocks on 31 March 2030, inside the week


def test_the_demo_has_cities_cinemas_and_movies() -> None:
    catalogue = parse_catalogue(demo_catalogue(TODAY))

    assert len(catalogue.cities) >= 3
    assert all(-90 <= c.latitude <= 90 and -180 <= c.longitude <= 180 for c in catalogue.cities)
    assert len(catalogue.cinemas) == 6
    assert {cinema.system for cinema in catalogue.cinemas} == {"local"}
    assert len({cinema.timezone for cinema in catalogue.cinemas}) >= 2
    assert len(catalogue.movies) == 8
    assert all(
        m.title and m.runtime_minutes and m.age_rating and m.language and m.synopsis for m in catalogue.movies
    )
    assert any(not m.title.isascii() for m in catalogue.movies)


def test_the_demo_has_three_layouts_one_big_with_aisles_and_priced_categories() -> None:
    catalogue = parse_catalogue(demo_catalogue(TODAY))
    layouts = {tuple(hall.seat_places()): hall for hall in catalogue.halls}
    shapes = {tuple((p.row_label, p.number, p.column, p.category) for p in places) for places in layouts}

    assert len(shapes) == 3
    big = max(layouts, key=len)
    assert len(big) >= 250
    first_row = [place for place in big if place.row_index == 0]
    last_row = [place for place in big if place.row_index == max(p.row_index for p in big)]
    columns = sorted(place.column for place in first_row)
    aisles = [c for c in range(columns[0], columns[-1]) if c not in columns]
    assert len(aisles) == 2
    assert "wheelchair" in {place.category for place in first_row}
    assert {place.category for place in last_row} == {"premium"}
    big_hall = layouts[big]
    big_show = next(s for s in catalogue.shows if (s.cinema, s.hall) == (big_hall.cinema, big_hall.name))
    standard = big_show.prices["standard"]
    assert big_show.prices["premium"] > standard > big_show.prices["wheelchair"]
    assert big_show.currency == "EUR"


def test_shows_fill_the_next_seven_local_days_at_the_schedules_local_times() -> None:
    catalogue = parse_catalogue(demo_catalogue(TODAY))
    zones = {cinema.id: ZoneInfo(cinema.timezone) for cinema in catalogue.cinemas}

    local_starts = [show.starts_at.astimezone(zones[show.cinema]) for show in catalogue.shows]

    assert {start.date() for start in local_starts} == {TODAY + timedelta(days=n) for n in range(7)}
    assert {start.strftime("%H:%M") for start in local_starts} == {"13:30", "16:15", "19:00", "21:45"}
    assert len({show.movie for show in catalogue.shows}) == 8


def test_the_demo_moves_with_the_day_it_is_generated_on() -> None:
    today = parse_catalogue(demo_catalogue(TODAY))
    tomorrow = parse_catalogue(demo_catalogue(TODAY + timedelta(days=1)))

    shared = {s.id: s for s in today.shows}.keys() & {s.id: s for s in tomorrow.shows}.keys()

    assert len(shared) == len(today.shows) * 6 // 7
    same = {s.id: (s.movie, s.starts_at) for s in today.shows if s.id in shared}
    assert same == {s.id: (s.movie, s.starts_at) for s in tomorrow.shows if s.id in shared}


async def test_every_demo_city_lists_movies_after_seeding(
    sessions: SessionFactory, redis: aioredis.Redis
) -> None:
    queries = CatalogueQueries(sessions, redis)
    await seed_demo(sessions, queries, today=NOW.date(), now=NOW)

    cities = await queries.cities()
    listed = Counter({city.name: len(await queries.movies_in_city(city.id, NOW)) for city in cities})

    assert set(listed) == {"Berlin", "Hamburg", "Munich", "Lisbon"}
    assert min(listed.values()) >= 4
    nearest = await queries.nearest_city(48.2, 11.6)
    assert nearest is not None and nearest.city.name == "Munich"
