"""The rows of a catalogue file (format version 1, docs/catalogue-format.md), one pydantic model each.

Each model checks one row on its own; references between rows (a show's hall, a cinema's city) are
checked by `validation.py` once every row has been read, so that a bad file lists every bad row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    model_validator,
)

FORMAT_VERSION = 1
GAP = "_"
DEFAULT_LEGEND = {"S": "standard", "P": "premium", "W": "wheelchair"}


def _money(value: Any) -> Any:
    # Floats are refused outright: 12.5 might mean 12.50 EUR or 1250 cents, and money must never guess.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("money is an integer number of minor units (1250 for 12.50), not " + repr(value))
    return value


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as 'Europe/Berlin')") from None
    return name


def _aware_utc(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date-time string such as '2025-06-01T18:30:00+02:00'")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {value!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset: add one ('+02:00') or 'Z'")
    return moment.astimezone(UTC)


Text16 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
Text32 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text300 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
ExternalId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")]
SystemName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Category = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Latitude = Annotated[float, Field(strict=True, ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(strict=True, ge=-180, le=180, allow_inf_nan=False)]
TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_time_zone)]
Money = Annotated[int, BeforeValidator(_money), Field(ge=0)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Instant = Annotated[datetime, BeforeValidator(_aware_utc)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CitySpec(_Row):
    """A city; cinemas refer to it by name."""

    name: Text100
    latitude: Latitude
    longitude: Longitude
    timezone: TimeZoneName


class CinemaSpec(_Row):
    """A cinema; `system` is "local" (we are its ticketing system) or a connected Theatre API system."""

    id: ExternalId
    name: Text200
    city: Text100
    address: Text300
    latitude: Latitude
    longitude: Longitude
    timezone: TimeZoneName
    system: SystemName = "local"


class SeatSpec(_Row):
    """One seat written out in full."""

    number: Annotated[int, Field(strict=True, ge=1)]
    column: Annotated[int, Field(strict=True, ge=1)]
    category: Category


class RowSpec(_Row):
    """A row of seats: either `seats` in full, or a compact `layout` string such as "WW_SSSSSS_WW"."""

    label: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,8}$")]
    seats: list[SeatSpec] | None = None
    layout: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if (self.seats is None) == (self.layout is None):
            raise ValueError(f"row {self.label!r}: give either 'seats' or 'layout', not both or neither")
        return self


@dataclass(frozen=True)
class SeatPlace:
    """A seat of a hall after expanding its rows: what the database stores."""

    row_index: int
    row_label: str
    number: int
    column: int
    category: str


class HallSpec(_Row):
    """A hall of a cinema and its seat layout, rows listed from the screen backwards."""

    cinema: ExternalId
    name: Text100
    id: ExternalId | None = None  # the hall's own id (a connected theatre's): a new name is a rename
    legend: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z]$")], Category] = Field(
        default_factory=dict
    )
    rows: Annotated[list[RowSpec], Field(min_length=1)]
    _places: tuple[SeatPlace, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _expand_rows(self) -> Self:
        self._places = self._layout()
        return self

    def seat_places(self) -> tuple[SeatPlace, ...]:
        """Every seat of the hall, rows front to back, each row left to right."""
        return self._places

    def categories(self) -> frozenset[str]:
        """The seat categories this hall uses; each show in it needs a price for every one."""
        return frozenset(place.category for place in self._places)

    def _layout(self) -> tuple[SeatPlace, ...]:
        legend = {**DEFAULT_LEGEND, **self.legend}
        places: list[SeatPlace] = []
        labels: set[str] = set()
        for index, row in enumerate(self.rows):
            if row.label in labels:
                raise ValueError(f"row {row.label!r} appears twice")
            labels.add(row.label)
            seats = (
                row.seats if row.seats is not None else _expand_layout(row.label, row.layout or "", legend)
            )
            if not seats:
                raise ValueError(f"row {row.label!r} has no seats")
            _check_row(row.label, seats)
            places.extend(SeatPlace(index, row.label, s.number, s.column, s.category) for s in seats)
        return tuple(places)


def _expand_layout(label: str, layout: str, legend: dict[str, str]) -> list[SeatSpec]:
    seats: list[SeatSpec] = []
    for column, letter in enumerate(layout, start=1):
        if letter == GAP:
            continue
        if letter not in legend:
            known = ", ".join(sorted(legend))
            raise ValueError(
                f"row {label!r}: unknown seat letter {letter!r} in layout (known: {known}, gap: _)"
            )
        seats.append(SeatSpec(number=len(seats) + 1, column=column, category=legend[letter]))
    return seats


def _check_row(label: str, seats: list[SeatSpec]) -> None:
    numbers = [seat.number for seat in seats]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"row {label!r}: a seat number appears twice")
    columns = [seat.column for seat in seats]
    if len(set(columns)) != len(columns):
        raise ValueError(f"row {label!r}: two seats share a column")


class MovieSpec(_Row):
    """A movie; shows refer to it by id."""

    id: ExternalId
    title: Text200
    runtime_minutes: Annotated[int, Field(strict=True, ge=1, le=1000)]
    age_rating: Text16
    language: Text32
    synopsis: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class ShowSpec(_Row):
    """One screening of a movie in a hall, with a price for every seat category of the hall."""

    id: ExternalId
    cinema: ExternalId
    hall: Text100
    movie: ExternalId
    starts_at: Instant
    currency: Currency
    prices: Annotated[dict[Category, Money], Field(min_length=1)]
    on_sale_at: Instant | None = None  # no seat can be held before it
    queue: Annotated[bool, Field(strict=True)] = False  # early arrivals wait in a fair on-sale queue

    @model_validator(mode="after")
    def _sale_opens_before_start(self) -> Self:
        if self.queue and self.on_sale_at is None:
            raise ValueError("an on-sale queue needs 'on_sale_at' (when the sale opens)")
        if self.on_sale_at is not None and self.on_sale_at >= self.starts_at:
            raise ValueError("'on_sale_at' must come before 'starts_at'")
        return self


@dataclass(frozen=True)
class Catalogue:
    """A whole catalogue file, every row valid and every reference resolved."""

    cities: tuple[CitySpec, ...] = ()
    cinemas: tuple[CinemaSpec, ...] = ()
    halls: tuple[HallSpec, ...] = ()
    movies: tuple[MovieSpec, ...] = ()
    shows: tuple[ShowSpec, ...] = ()


SECTIONS: dict[str, type[_Row]] = {
    "cities": CitySpec,
    "cinemas": CinemaSpec,
    "halls": HallSpec,
    "movies": MovieSpec,
    "shows": ShowSpec,
}

_VALUE_ERROR_PREFIX = re.compile(r"^(Value error|Assertion failed), ")


def clean_message(message: str) -> str:
    """A pydantic error message without its "Value error, " prefix."""
    return _VALUE_ERROR_PREFIX.sub("", message)
