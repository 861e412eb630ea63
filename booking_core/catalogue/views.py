"""What catalogue queries answer: small frozen dataclasses, cacheable as JSON, free of the ORM.

Times are UTC; each view that has a time also carries the cinema's time zone, and `local_starts_at`
is the time people read on the cinema's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class CityInfo:
    """A city that has cinemas."""

    id: int
    name: str
    latitude: float
    longitude: float
    timezone: str


@dataclass(frozen=True)
class NearestCity:
    """The city with cinemas closest to a point, and how far it is."""

    city: CityInfo
    distance_km: float


@dataclass(frozen=True)
class MovieInfo:
    """A movie as listings show it."""

    id: int
    title: str
    runtime_minutes: int
    age_rating: str
    language: str
    synopsis: str


@dataclass(frozen=True)
class CinemaInfo:
    """A cinema with where it is and the time zone its shows are shown in."""

    id: int
    name: str
    address: str
    city_id: int
    city_name: str
    latitude: float
    longitude: float
    timezone: str
    system: str


@dataclass(frozen=True)
class SeatPrice:
    """The price of one seat category at one show, in minor units of the show's currency."""

    category: str
    amount_minor: int


@dataclass(frozen=True)
class ShowTime:
    """One show in a listing: when, in which hall, at what prices."""

    show_id: int
    hall_id: int
    hall_name: str
    starts_at: datetime
    timezone: str
    currency: str
    prices: tuple[SeatPrice, ...]
    on_sale_at: datetime | None = None  # seats cannot be held before (a premiere's on-sale moment)
    sale_queue: bool = False

    @cached_property
    def local_starts_at(self) -> datetime:
        """The start on the cinema's clock (worked out once: the view is frozen)."""
        return self.starts_at.astimezone(ZoneInfo(self.timezone))

    def local_on_sale_at(self) -> datetime | None:
        """The on-sale moment on the cinema's clock, None when the show is simply on sale."""
        return None if self.on_sale_at is None else self.on_sale_at.astimezone(ZoneInfo(self.timezone))


@dataclass(frozen=True)
class ShowDay:
    """A cinema's shows of one movie on one local day, earliest first."""

    day: date
    shows: tuple[ShowTime, ...]


@dataclass(frozen=True)
class CinemaSchedule:
    """A cinema's upcoming shows of one movie, grouped by the cinema's local day."""

    cinema: CinemaInfo
    days: tuple[ShowDay, ...]


@dataclass(frozen=True)
class ShowDetails:
    """Everything a booking screen says about a show."""

    show_id: int
    movie: MovieInfo
    cinema: CinemaInfo
    hall_id: int
    hall_name: str
    starts_at: datetime
    currency: str
    prices: tuple[SeatPrice, ...]
    on_sale: bool
    on_sale_at: datetime | None = None
    sale_queue: bool = False

    @cached_property
    def local_starts_at(self) -> datetime:
        """The start on the cinema's clock (worked out once: the view is frozen)."""
        return self.starts_at.astimezone(ZoneInfo(self.cinema.timezone))

    def price_of(self, category: str) -> int | None:
        """The price of a seat category at this show, or None if the show has none."""
        return next((price.amount_minor for price in self.prices if price.category == category), None)
