"""A small cinema chain for the sandbox theatre: two cinemas, three halls, four films, a week of shows.

Seeding is idempotent (INSERT OR IGNORE with stable ids), so re-running it on a persisted database only
adds the days that have come into the window since.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHAIN_NAME = "Northlight Cinemas"
DAYS_AHEAD = 7

CINEMAS = (
    ("riverside", "Riverside Picturehouse", "Berlin", 52.5019, 13.4449, "Europe/Berlin",
     "Stralauer Allee 7, 10245 Berlin"),
    ("lindenhof", "Lindenhof Kino", "Potsdam", 52.3989, 13.0578, "Europe/Berlin",
     "Brandenburger Strasse 30, 14467 Potsdam"),
)  # fmt: skip

MOVIES = (
    (
        "m-lighthouse",
        "The Lighthouse Keeper",
        112,
        "12",
        "en",
        "A keeper, a storm and a ship that is not there.",
    ),
    ("m-paper-moons", "Paper Moons", 98, "6", "en", "Two children build a rocket out of a cereal box."),
    ("m-kraken", "Kraken Rising", 127, "16", "en", "Something very large wakes under the harbour."),
    ("m-stille-wasser", "Stille Wasser", 105, "12", "de", "Ein Sommer am See, und was er verschweigt."),
)


@dataclass(frozen=True)
class HallPlan:
    """A hall's shape: rows of seats with aisles after some seat numbers, and special rows/seats."""

    hall_id: str
    cinema_id: str
    name: str
    rows: str
    seats_per_row: int
    aisles_after: tuple[int, ...]
    premium_rows: str
    wheelchair_seats: tuple[str, ...]

    def seats(self) -> list[tuple[str, str, int, int, int, str]]:
        """(label, row label, row index, number, column, category) for every seat."""
        result = []
        for row_index, row in enumerate(self.rows):
            for number in range(1, self.seats_per_row + 1):
                column = number + sum(1 for aisle in self.aisles_after if number > aisle)
                label = f"{row}{number}"
                category = "standard"
                if row in self.premium_rows:
                    category = "premium"
                if label in self.wheelchair_seats:
                    category = "wheelchair"
                result.append((label, row, row_index, number, column, category))
        return result


HALLS = (
    HallPlan("riverside-1", "riverside", "Hall 1", "ABCDEFGH", 12, (6,), "GH", ("A1", "A2")),
    HallPlan("riverside-2", "riverside", "Hall 2", "ABCDE", 8, (4,), "", ("A1",)),
    HallPlan("lindenhof-1", "lindenhof", "Saal", "ABCDEF", 10, (2, 8), "F", ()),
)

PRICES = {"standard": 1100, "premium": 1500, "wheelchair": 800}  # minor units, EUR

# (hall, local start, movie) every day
DAILY_SHOWS = (
    ("riverside-1", time(15, 0), "m-paper-moons"),
    ("riverside-1", time(18, 0), "m-lighthouse"),
    ("riverside-1", time(21, 0), "m-kraken"),
    ("riverside-2", time(17, 30), "m-stille-wasser"),
    ("riverside-2", time(20, 15), "m-lighthouse"),
    ("lindenhof-1", time(19, 0), "m-kraken"),
)


def seed_chain(connection: sqlite3.Connection, now: datetime, days: int = DAYS_AHEAD) -> None:
    """Insert the chain and its shows for `days` days from the local date of `now` (idempotent)."""
    timezones = {cinema[0]: ZoneInfo(cinema[5]) for cinema in CINEMAS}
    halls = {hall.hall_id: hall for hall in HALLS}
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.executemany("INSERT OR IGNORE INTO cinemas VALUES (?, ?, ?, ?, ?, ?, ?)", CINEMAS)
        connection.executemany("INSERT OR IGNORE INTO movies VALUES (?, ?, ?, ?, ?, ?)", MOVIES)
        for hall in HALLS:
            connection.execute(
                "INSERT OR IGNORE INTO halls VALUES (?, ?, ?)", (hall.hall_id, hall.cinema_id, hall.name)
            )
            connection.executemany(
                "INSERT OR IGNORE INTO seats VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(hall.hall_id, *seat) for seat in hall.seats()],
            )
        for day in range(days):
            for hall_id, local_time, movie_id in DAILY_SHOWS:
                hall = halls[hall_id]
                zone = timezones[hall.cinema_id]
                local_day: date = now.astimezone(zone).date() + timedelta(days=day)
                starts = datetime.combine(local_day, local_time, tzinfo=zone)
                show_id = f"{hall_id}-{starts:%Y%m%d-%H%M}"
                connection.execute(
                    "INSERT OR IGNORE INTO shows (id, cinema_id, hall_id, movie_id, starts_at, currency)"
                    " VALUES (?, ?, ?, ?, ?, 'EUR')",
                    (show_id, hall.cinema_id, hall_id, movie_id, starts.timestamp()),
                )
                connection.executemany(
                    "INSERT OR IGNORE INTO show_prices VALUES (?, ?, ?)",
                    [(show_id, category, amount) for category, amount in PRICES.items()],
                )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
