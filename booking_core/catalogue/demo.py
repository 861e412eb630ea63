"""The demo catalogue: fixed cities, cinemas, halls and movies, with shows for the coming week.

The checked-in source (demo_catalogue.json) names a layout per hall and a daily schedule; shows are
generated relative to the day the demo is seeded, at local times in each cinema's time zone, so the
demo never goes stale. Show ids are derived from cinema, hall and local start, so seeding again the
same day changes nothing and seeding the next day only adds the newest day.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from booking_core.catalogue.file_format import FORMAT_VERSION
from booking_core.catalogue.importer import CatalogueCache, ImportReport, import_catalogue
from booking_core.catalogue.validation import parse_catalogue
from booking_core.database import SessionFactory
from booking_core.models import utc_now

DEMO_SOURCE = Path(__file__).with_name("demo_catalogue.json")


def demo_catalogue(today: date) -> dict[str, Any]:
    """The demo as a catalogue file (format version 1) with shows from `today` for the schedule's days."""
    source = json.loads(DEMO_SOURCE.read_text(encoding="utf-8"))
    layouts = source["layouts"]
    halls = [
        {"cinema": hall["cinema"], "name": hall["name"], "rows": layouts[hall["layout"]]["rows"]}
        for hall in source["halls"]
    ]
    return {
        "version": FORMAT_VERSION,
        "cities": source["cities"],
        "cinemas": source["cinemas"],
        "halls": halls,
        "movies": source["movies"],
        "shows": _shows(source, today),
    }


def _shows(source: dict[str, Any], today: date) -> list[dict[str, Any]]:
    schedule = source["schedule"]
    zones = {cinema["id"]: ZoneInfo(cinema["timezone"]) for cinema in source["cinemas"]}
    movie_ids = [movie["id"] for movie in source["movies"]]
    times = [time.fromisoformat(text) for text in schedule["times"]]
    shows = []
    for hall_number, hall in enumerate(source["halls"]):
        prices = source["layouts"][hall["layout"]]["prices"]
        for offset in range(schedule["days"]):
            day = today + timedelta(days=offset)
            for slot, start in enumerate(times):
                # A fixed rotation spreads every movie over every city and day without randomness.
                movie = movie_ids[(hall_number * 3 + day.toordinal() * 2 + slot) % len(movie_ids)]
                local_start = datetime.combine(day, start, tzinfo=zones[hall["cinema"]])
                shows.append(
                    {
                        "id": f"{hall['cinema']}/{_slug(hall['name'])}/{local_start:%Y-%m-%dT%H%M}",
                        "cinema": hall["cinema"],
                        "hall": hall["name"],
                        "movie": movie,
                        "starts_at": local_start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                        "currency": schedule["currency"],
                        "prices": prices,
                    }
                )
    return shows


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


async def seed_demo(
    sessions: SessionFactory,
    cache: CatalogueCache | None = None,
    *,
    today: date | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Load the demo catalogue (idempotent: a second run the same day changes nothing)."""
    now = now or utc_now()
    catalogue = parse_catalogue(demo_catalogue(today or now.astimezone(UTC).date()))
    return await import_catalogue(sessions, catalogue, cache=cache, now=now)
