"""The sandbox chain (sandbox.theatre.seed's cinemas, halls, films, daily shows) in Theatre DB v1 tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import TableClause, column, insert, inspect, select, table
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sandbox.theatre.seed import CINEMAS, DAILY_SHOWS, DAYS_AHEAD, HALLS, MOVIES, PRICES
from sandbox.theatre_db.schema import create_schema


def _table(name: str, *columns: str) -> TableClause:
    return table(name, *(column(name) for name in columns))


_CINEMAS = _table("cinemas", "id", "name", "city", "latitude", "longitude", "timezone", "address")
_MOVIES = _table("movies", "id", "title", "runtime_minutes", "age_rating", "language", "synopsis")
_HALLS = _table("halls", "id", "cinema_id", "name")
_SEATS = _table("seats", "hall_id", "row_label", "number", "row_index", "col", "category")
_SHOWS = _table("shows", "id", "cinema_id", "hall_id", "movie_id", "starts_at", "currency", "version")
_PRICES = _table("show_prices", "show_id", "category", "amount")


def show_rows(now: datetime, days: int) -> list[dict[str, object]]:
    """The daily shows for `days` days from the local date of `now`, starts in UTC without a zone."""
    halls = {hall.hall_id: hall for hall in HALLS}
    zones = {cinema[0]: ZoneInfo(cinema[5]) for cinema in CINEMAS}
    rows = []
    for day in range(days):
        for hall_id, local_time, movie_id in DAILY_SHOWS:
            zone = zones[halls[hall_id].cinema_id]
            local_day: date = now.astimezone(zone).date() + timedelta(days=day)
            starts = datetime.combine(local_day, local_time, tzinfo=zone)
            rows.append(
                {
                    "id": f"{hall_id}-{starts:%Y%m%d-%H%M}",
                    "cinema_id": halls[hall_id].cinema_id,
                    "hall_id": hall_id,
                    "movie_id": movie_id,
                    "starts_at": starts.astimezone(UTC).replace(tzinfo=None),
                    "currency": "EUR",
                    "version": 1,
                }
            )
    return rows


# The demo's database-linked chain: the sandbox chain's halls and films under other names and places.
ELBE_CINEMAS = (
    ("riverside", "Elbufer Lichtspiele", "Dresden", 51.0545, 13.7415, "Europe/Berlin",
     "Terrassenufer 2, 01067 Dresden"),
    ("lindenhof", "Neustadt Filmtheater", "Dresden", 51.0664, 13.7520, "Europe/Berlin",
     "Alaunstrasse 40, 01099 Dresden"),
)  # fmt: skip


async def seed_chain(
    engine: AsyncEngine,
    now: datetime,
    days: int = DAYS_AHEAD,
    cinemas: Sequence[tuple[object, ...]] = CINEMAS,
) -> None:
    """Insert the chain on a fresh schema, and the shows of `days` days from `now` not there yet."""
    async with engine.begin() as connection:
        if (await connection.execute(select(_CINEMAS.c.id).limit(1))).first() is None:
            cinema_keys = ("id", "name", "city", "latitude", "longitude", "timezone", "address")
            await connection.execute(
                insert(_CINEMAS), [dict(zip(cinema_keys, row, strict=True)) for row in cinemas]
            )
            movie_keys = ("id", "title", "runtime_minutes", "age_rating", "language", "synopsis")
            await connection.execute(
                insert(_MOVIES), [dict(zip(movie_keys, row, strict=True)) for row in MOVIES]
            )
            await connection.execute(
                insert(_HALLS), [{"id": h.hall_id, "cinema_id": h.cinema_id, "name": h.name} for h in HALLS]
            )
            seat_rows = [
                {
                    "hall_id": h.hall_id,
                    "row_label": row,
                    "number": number,
                    "row_index": index,
                    "col": col,
                    "category": category,
                }
                for h in HALLS
                for _, row, index, number, col, category in h.seats()
            ]
            await connection.execute(insert(_SEATS), seat_rows)
        known = set((await connection.execute(select(_SHOWS.c.id))).scalars())
        new = [row for row in show_rows(now, days) if row["id"] not in known]
        if new:
            await connection.execute(insert(_SHOWS), new)
            prices = [
                {"show_id": row["id"], "category": c, "amount": a} for row in new for c, a in PRICES.items()
            ]
            await connection.execute(insert(_PRICES), prices)


async def open_theatre_database(
    url: str, now: datetime, cinemas: Sequence[tuple[object, ...]] = CINEMAS
) -> AsyncEngine:
    """An engine on a Theatre DB v1 database, its tables created if missing, its shows seeded up to date."""
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            # Readers then never hold up the till's or Marquee's writes (the setting stays with the file).
            await connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        present = await connection.run_sync(lambda sync: inspect(sync).has_table("seat_claims"))
    if not present:
        await create_schema(engine)
    await seed_chain(engine, now, cinemas=cinemas)
    return engine
