"""Catalogue queries on both databases, their Redis cache and its invalidation by an import."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy import select, update

from booking_core.catalogue import CatalogueQueries, import_catalogue, parse_catalogue
from booking_core.catalogue.listing_cache import KEY_PREFIX
from booking_core.database import SessionFactory
from booking_core.models import Movie, Seat, Show
from roles.redis_server import RedisEndpoint
from tests.catalogue.samples import NOW, sample_catalogue
from tests.holds.redis_stats import Sends, counting_client


@pytest.fixture
async def queries(sessions: SessionFactory, redis: aioredis.Redis) -> CatalogueQueries:
    """Queries over the sample catalogue, imported at NOW."""
    await import_catalogue(sessions, parse_catalogue(sample_catalogue()), now=NOW)
    return CatalogueQueries(sessions, redis, ttl_seconds=60)


async def ids_by_external_id(sessions: SessionFactory, model: type[Movie] | type[Show]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(select(model.external_id, model.id))
        return {external_id: row_id for external_id, row_id in rows}


async def city_id(queries: CatalogueQueries, name: str) -> int:
    return next(city.id for city in await queries.cities() if city.name == name)


async def test_cities_are_those_with_cinemas_by_name(queries: CatalogueQueries) -> None:
    cities = await queries.cities()

    assert [city.name for city in cities] == ["Berlin", "Hamburg", "New York"]
    assert (cities[0].latitude, cities[0].longitude, cities[0].timezone) == (52.52, 13.405, "Europe/Berlin")


async def test_movies_in_a_city_are_those_with_upcoming_shows_on_sale(queries: CatalogueQueries) -> None:
    berlin = await city_id(queries, "Berlin")

    movies = await queries.movies_in_city(berlin, NOW)

    # "Charlie" only played before NOW; "Delta" plays in Hamburg; titles sort without regard to case.
    assert [movie.title for movie in movies] == ["Alpha", "bravo"]
    assert (movies[0].runtime_minutes, movies[0].age_rating, movies[0].language) == (100, "12+", "en")
    assert movies[0].synopsis == "All about Alpha."


async def test_a_cached_movie_listing_drops_movies_whose_last_show_has_started(
    queries: CatalogueQueries,
) -> None:
    berlin = await city_id(queries, "Berlin")
    await queries.movies_in_city(berlin, NOW)

    later = await queries.movies_in_city(berlin, NOW + timedelta(hours=6))
    earlier = await queries.movies_in_city(berlin, NOW - timedelta(hours=3))

    assert [movie.title for movie in later] == ["Alpha"]  # bravo's only show started at NOW + 5 h
    assert [movie.title for movie in earlier] == ["Alpha", "bravo", "Charlie"]


async def test_shows_of_a_movie_are_grouped_by_cinema_and_local_day(
    sessions: SessionFactory, queries: CatalogueQueries
) -> None:
    movies = await ids_by_external_id(sessions, Movie)
    shows = await ids_by_external_id(sessions, Show)

    berlin = await queries.shows_of_movie(movies["alpha"], await city_id(queries, "Berlin"), NOW)
    new_york = await queries.shows_of_movie(movies["alpha"], await city_id(queries, "New York"), NOW)

    assert [(c.cinema.name, [(d.day, [s.show_id for s in d.shows]) for d in c.days]) for c in berlin] == [
        ("Alpha Kino", [(date(2030, 6, 1), [shows["alpha-1"]]), (date(2030, 6, 2), [shows["alpha-2"]])]),
        ("Beta Kino", [(date(2030, 6, 1), [shows["alpha-3"]])]),
    ]
    first = berlin[0].days[0].shows[0]
    assert first.hall_name == "Hall 1" and first.currency == "EUR"
    assert first.local_starts_at.strftime("%H:%M") == "14:00"  # 12:00 UTC in Berlin summer time
    assert [(p.category, p.amount_minor) for p in first.prices] == [
        ("premium", 1500),
        ("standard", 1200),
        ("wheelchair", 800),
    ]
    # 02:00 UTC on 2 June is still 1 June on the cinema's clock in New York.
    assert [(d.day, len(d.shows)) for d in new_york[0].days] == [(date(2030, 6, 1), 1), (date(2030, 6, 2), 1)]
    assert new_york[0].cinema.timezone == "America/New_York"


async def test_cached_show_times_never_offer_a_started_show(
    sessions: SessionFactory, queries: CatalogueQueries
) -> None:
    movies = await ids_by_external_id(sessions, Movie)
    berlin = await city_id(queries, "Berlin")
    await queries.shows_of_movie(movies["alpha"], berlin, NOW)

    later = await queries.shows_of_movie(movies["alpha"], berlin, NOW + timedelta(hours=2))

    assert [(c.cinema.name, [d.day for d in c.days]) for c in later] == [
        ("Alpha Kino", [date(2030, 6, 2)]),
        ("Beta Kino", [date(2030, 6, 1)]),
    ]


async def test_show_details_tell_movie_cinema_hall_time_and_prices(
    sessions: SessionFactory, queries: CatalogueQueries
) -> None:
    shows = await ids_by_external_id(sessions, Show)

    details = await queries.show_details(shows["alpha-1"])

    assert details is not None
    assert details.movie.title == "Alpha"
    assert (details.cinema.name, details.cinema.address, details.cinema.city_name) == (
        "Alpha Kino",
        "Alpha Kino Street 1",
        "Berlin",
    )
    assert details.cinema.timezone == "Europe/Berlin" and details.cinema.system == "local"
    assert details.hall_name == "Hall 1"
    assert details.starts_at == NOW + timedelta(hours=2)
    assert details.local_starts_at.isoformat() == "2030-06-01T14:00:00+02:00"
    assert details.currency == "EUR" and details.on_sale
    assert details.price_of("premium") == 1500 and details.price_of("balcony") is None
    assert await queries.show_details(10**9) is None


async def test_the_hall_layout_has_rows_seats_and_aisles(
    sessions: SessionFactory, queries: CatalogueQueries
) -> None:
    shows = await ids_by_external_id(sessions, Show)

    layout = await queries.hall_layout(shows["alpha-1"])

    assert layout is not None
    assert [row.label for row in layout.rows] == ["A", "B"]
    assert [(s.label, s.number, s.column, s.category) for s in layout.rows[0].seats] == [
        ("A1", 1, 1, "wheelchair"),
        ("A2", 2, 2, "wheelchair"),
        ("A3", 3, 4, "standard"),
        ("A4", 4, 5, "standard"),
    ]
    assert (layout.width, layout.seat_count) == (5, 7)
    assert layout.categories == ("premium", "standard", "wheelchair")
    async with sessions() as session:
        seat_ids = set(await session.scalars(select(Seat.id).where(Seat.hall_id == layout.hall_id)))
    assert {seat.id for row in layout.rows for seat in row.seats} == seat_ids
    assert await queries.hall_layout(10**9) is None


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        (53.6, 10.1, "Hamburg"),  # Hamburg's outskirts
        (52.39, 13.06, "Berlin"),  # Potsdam itself has no cinema
        (40.0, -75.0, "New York"),
        (-33.9, 151.2, "New York"),  # Sydney: far from everything, still an answer
    ],
)
async def test_the_nearest_city_with_cinemas(
    queries: CatalogueQueries, latitude: float, longitude: float, expected: str
) -> None:
    nearest = await queries.nearest_city(latitude, longitude)

    assert nearest is not None and nearest.city.name == expected


async def test_the_nearest_city_distance_is_great_circle(queries: CatalogueQueries) -> None:
    nearest = await queries.nearest_city(52.52, 13.405)
    from_hamburg = await queries.nearest_city(53.5511, 9.9937)

    assert nearest is not None and nearest.distance_km == pytest.approx(0.0, abs=1e-6)
    assert from_hamburg is not None and from_hamburg.city.name == "Hamburg"


async def test_no_city_is_nearest_in_an_empty_catalogue(
    sessions: SessionFactory, redis: aioredis.Redis
) -> None:
    assert await CatalogueQueries(sessions, redis).nearest_city(52.5, 13.4) is None


async def test_listings_come_from_the_cache_until_an_import_invalidates_it(
    sessions: SessionFactory, redis: aioredis.Redis, queries: CatalogueQueries
) -> None:
    berlin = await city_id(queries, "Berlin")
    assert [m.title for m in await queries.movies_in_city(berlin, NOW)] == ["Alpha", "bravo"]
    # Given a change made behind the cache's back, the cached listing still answers...
    async with sessions() as session:
        await session.execute(update(Movie).where(Movie.external_id == "alpha").values(title="Aleph"))
        await session.commit()
    assert [m.title for m in await queries.movies_in_city(berlin, NOW)] == ["Alpha", "bravo"]
    generation = await redis.get(f"{KEY_PREFIX}:generation")

    # ...when an import changes the catalogue...
    data = sample_catalogue()
    data["movies"][1]["title"] = "Bravo"
    report = await import_catalogue(sessions, parse_catalogue(data), cache=queries, now=NOW)

    # ...then the cache is invalidated with one INCR and listings show the database.
    assert report.changed
    assert int(await redis.get(f"{KEY_PREFIX}:generation") or 0) == int(generation or 0) + 1
    # (the import also restored the title changed behind its back)
    assert [m.title for m in await queries.movies_in_city(berlin, NOW)] == ["Alpha", "Bravo"]


async def test_an_import_that_changes_nothing_keeps_the_cache(
    sessions: SessionFactory, redis: aioredis.Redis, queries: CatalogueQueries
) -> None:
    await queries.cities()

    report = await import_catalogue(sessions, parse_catalogue(sample_catalogue()), cache=queries, now=NOW)

    assert not report.changed
    assert await redis.get(f"{KEY_PREFIX}:generation") is None


async def test_listings_are_read_from_the_database_while_redis_is_down(sessions: SessionFactory) -> None:
    await import_catalogue(sessions, parse_catalogue(sample_catalogue()), now=NOW)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = aioredis.Redis(host="127.0.0.1", port=port, retry=Retry(NoBackoff(), 0))
    queries = CatalogueQueries(sessions, down)

    try:
        cities = await queries.cities()
        await queries.invalidate()
    finally:
        await down.aclose()

    assert [city.name for city in cities] == ["Berlin", "Hamburg", "New York"]


async def test_withdrawn_shows_leave_the_listings(
    sessions: SessionFactory, queries: CatalogueQueries
) -> None:
    berlin = await city_id(queries, "Berlin")
    await queries.movies_in_city(berlin, NOW)
    data = sample_catalogue()
    del data["shows"][3]  # bravo's only show

    await import_catalogue(sessions, parse_catalogue(data), cache=queries, now=NOW)

    assert [m.title for m in await queries.movies_in_city(berlin, NOW)] == ["Alpha"]


async def test_naive_times_are_refused(queries: CatalogueQueries) -> None:
    with pytest.raises(ValueError, match="naive"):
        await queries.movies_in_city(1, datetime(2030, 6, 1, 10, 0))
    assert datetime(2030, 6, 1, 10, 0, tzinfo=UTC) == NOW


async def test_a_cached_listing_rewritten_under_its_key_is_read_as_written(
    queries: CatalogueQueries, redis: aioredis.Redis
) -> None:
    # Given the cities listing cached, and read from the cache once (parsed and kept in the process)
    await queries.cities()
    assert (await queries.cities())[0].name == "Berlin"
    # When another process stores a different listing under the same key
    [key] = [key async for key in redis.scan_iter(f"{KEY_PREFIX}:*:cities")]
    cached = await redis.get(key)
    assert isinstance(cached, str)
    await redis.set(key, cached.replace('"Berlin"', '"Berlin-Mitte"'))
    # Then the next read gives what is stored now, not what was parsed before
    assert (await queries.cities())[0].name == "Berlin-Mitte"


@pytest.mark.on_a_redis_cluster_too
async def test_a_reader_sees_another_process_invalidate_the_cache(
    sessions: SessionFactory, redis_endpoint: RedisEndpoint, queries: CatalogueQueries
) -> None:
    # Given another process's queries (a client of its own) that have read the listing once
    other = redis_endpoint.client()
    try:
        elsewhere = CatalogueQueries(sessions, other, ttl_seconds=60)
        berlin = await city_id(elsewhere, "Berlin")
        assert [m.title for m in await elsewhere.movies_in_city(berlin, NOW)] == ["Alpha", "bravo"]
        # When this process changes a title and invalidates the cache
        async with sessions() as session:
            await session.execute(update(Movie).where(Movie.external_id == "bravo").values(title="Bravo"))
            await session.commit()
        await queries.invalidate()
        # Then the other process's next read shows the database, and the one after it too
        assert [m.title for m in await elsewhere.movies_in_city(berlin, NOW)] == ["Alpha", "Bravo"]
        assert [m.title for m in await elsewhere.movies_in_city(berlin, NOW)] == ["Alpha", "Bravo"]
    finally:
        await other.aclose()


async def test_a_cached_listing_is_one_round_trip_while_the_generation_stays(
    sessions: SessionFactory, redis_endpoint: RedisEndpoint, queries: CatalogueQueries
) -> None:
    sends = Sends()
    counted = counting_client(redis_endpoint.url, sends)
    try:
        reader = CatalogueQueries(sessions, counted, ttl_seconds=60)
        berlin = await city_id(reader, "Berlin")
        await reader.movies_in_city(berlin, NOW)
        # When cached listings are read again
        sends.count = 0
        await reader.movies_in_city(berlin, NOW)
        await reader.cities()
        # Then each was one round trip (the generation and the listing in one pipeline)
        assert sends.count == 2
        # And after an invalidation, the first read finds the new generation and reads again
        await queries.invalidate()
        sends.count = 0
        await reader.cities()
        assert sends.count == 2 + 1  # the pipeline, the listing of the new generation, storing it
    finally:
        await counted.aclose()
