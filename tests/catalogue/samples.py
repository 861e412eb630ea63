"""A small hand-made catalogue whose every answer the tests can predict."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

# All sample shows are placed around this moment; every call takes it as `now`.
NOW = datetime(2030, 6, 1, 10, 0, tzinfo=UTC)

BERLIN_PRICES = {"standard": 1200, "premium": 1500, "wheelchair": 800}


def _cinema(cinema_id: str, name: str, city: str, lat: float, lon: float, zone: str) -> dict[str, Any]:
    address = f"{name} Street 1"
    return {
        "id": cinema_id,
        "name": name,
        "city": city,
        "address": address,
        "latitude": lat,
        "longitude": lon,
        "timezone": zone,
    }


def _movie(movie_id: str, title: str, runtime: int = 100) -> dict[str, Any]:
    return {
        "id": movie_id,
        "title": title,
        "runtime_minutes": runtime,
        "age_rating": "12+",
        "language": "en",
        "synopsis": f"All about {title}.",
    }


def show(
    show_id: str,
    cinema: str,
    hall: str,
    movie: str,
    starts_at: datetime,
    prices: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A show row starting at an aware time."""
    return {
        "id": show_id,
        "cinema": cinema,
        "hall": hall,
        "movie": movie,
        "starts_at": starts_at.isoformat(),
        "currency": "EUR",
        "prices": prices or {"standard": 1000},
    }


_SAMPLE: dict[str, Any] = {
    "version": 1,
    "cities": [
        {"name": "Berlin", "latitude": 52.52, "longitude": 13.405, "timezone": "Europe/Berlin"},
        {"name": "Hamburg", "latitude": 53.5511, "longitude": 9.9937, "timezone": "Europe/Berlin"},
        {"name": "New York", "latitude": 40.7128, "longitude": -74.006, "timezone": "America/New_York"},
        # Closer to some points than Berlin, but without a cinema: never offered.
        {"name": "Potsdam", "latitude": 52.3906, "longitude": 13.0645, "timezone": "Europe/Berlin"},
    ],
    "cinemas": [
        _cinema("b-one", "Alpha Kino", "Berlin", 52.52, 13.40, "Europe/Berlin"),
        _cinema("b-two", "Beta Kino", "Berlin", 52.50, 13.42, "Europe/Berlin"),
        _cinema("hh", "Hafen", "Hamburg", 53.54, 9.94, "Europe/Berlin"),
        _cinema("ny", "Midtown Screens", "New York", 40.75, -73.99, "America/New_York"),
    ],
    "halls": [
        {
            "cinema": "b-one",
            "name": "Hall 1",
            "rows": [
                {"label": "A", "layout": "WW_SS"},
                {
                    "label": "B",
                    "seats": [
                        {"number": 1, "column": 1, "category": "standard"},
                        {"number": 2, "column": 2, "category": "standard"},
                        {"number": 3, "column": 4, "category": "premium"},
                    ],
                },
            ],
        },
        {"cinema": "b-two", "name": "Hall 1", "rows": [{"label": "A", "layout": "SSSS"}]},
        {"cinema": "hh", "name": "Elbe", "rows": [{"label": "A", "layout": "SSSS"}]},
        {"cinema": "ny", "name": "Screen 1", "rows": [{"label": "A", "layout": "SSSS"}]},
    ],
    "movies": [
        _movie("alpha", "Alpha"),
        _movie("bravo", "bravo"),
        _movie("charlie", "Charlie"),
        _movie("delta", "Delta"),
    ],
    "shows": [
        show("alpha-1", "b-one", "Hall 1", "alpha", NOW + timedelta(hours=2), BERLIN_PRICES),
        show("alpha-2", "b-one", "Hall 1", "alpha", NOW + timedelta(days=1, hours=2), BERLIN_PRICES),
        show("alpha-3", "b-two", "Hall 1", "alpha", NOW + timedelta(hours=3)),
        show("bravo-1", "b-two", "Hall 1", "bravo", NOW + timedelta(hours=5)),
        show("charlie-past", "b-one", "Hall 1", "charlie", NOW - timedelta(hours=2), BERLIN_PRICES),
        show("delta-1", "hh", "Elbe", "delta", NOW + timedelta(hours=4)),
        # 22:00 on 1 June in New York, though already 2 June in UTC.
        show("alpha-ny-1", "ny", "Screen 1", "alpha", datetime(2030, 6, 2, 2, 0, tzinfo=UTC)),
        show("alpha-ny-2", "ny", "Screen 1", "alpha", datetime(2030, 6, 2, 14, 0, tzinfo=UTC)),
    ],
}


def sample_catalogue() -> dict[str, Any]:
    """A fresh, mutable copy of the sample catalogue file."""
    return copy.deepcopy(_SAMPLE)
