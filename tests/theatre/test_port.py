"""The port's own rules: schedules are consistent or refused whole; times are UTC; config is checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from adapters.theatre.http import HttpTheatreSystem
from adapters.theatre.systems import theatre_systems_from_settings
from booking_core.settings import ConfigurationError
from booking_core.theatre.port import (
    ScheduleRefused,
    TheatreCinema,
    TheatreHall,
    TheatreMovie,
    TheatreSchedule,
    TheatreSeat,
    TheatreShow,
)
from roles.settings import load_settings

BERLIN_SUMMER = timezone(timedelta(hours=2))


def schedule(**show_changes: object) -> TheatreSchedule:
    cinema = TheatreCinema("c1", "Cinema", "Berlin", 52.5, 13.4, "Europe/Berlin", "Street 1")
    hall = TheatreHall(
        "h1", "c1", "Hall", (TheatreSeat("A", 1, 0, 1, "standard"), TheatreSeat("A", 2, 0, 3, "premium"))
    )
    movie = TheatreMovie("m1", "Film", 100, "12", "en")
    fields: dict[str, object] = {
        "external_id": "s1",
        "cinema_external_id": "c1",
        "hall_external_id": "h1",
        "movie_external_id": "m1",
        "starts_at": datetime(2030, 6, 1, 20, 0, tzinfo=BERLIN_SUMMER),
        "prices": {"standard": 1000, "premium": 1400},
        "currency": "EUR",
    } | show_changes
    return TheatreSchedule((cinema,), (hall,), (movie,), (TheatreShow(**fields),))  # type: ignore[arg-type]


def test_a_consistent_schedule_is_taken_and_its_times_are_utc() -> None:
    show = schedule().shows[0]
    assert show.starts_at == datetime(2030, 6, 1, 18, 0, tzinfo=UTC)
    assert show.starts_at.tzinfo is UTC
    assert schedule().hall("h1").seats[1].label == "A2"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"hall_external_id": "h9"}, "unknown hall"),
        ({"cinema_external_id": "c9"}, "unknown hall"),
        ({"movie_external_id": "m9"}, "unknown movie"),
        ({"prices": {"standard": 1000}}, "no price for premium"),
    ],
)
def test_an_inconsistent_schedule_is_refused_whole(change: dict[str, object], problem: str) -> None:
    with pytest.raises(ScheduleRefused, match=problem):
        schedule(**change)


def test_a_naive_start_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule(starts_at=datetime(2030, 6, 1, 20, 0))


def test_connected_systems_come_from_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "THEATRE_SYSTEMS", '{"northlight": {"base_url": "http://127.0.0.1:9000/api/", "token": "s3cret"}}'
    )
    settings = load_settings()
    assert settings.THEATRE_SYNC_SECONDS == 300
    assert "s3cret" not in repr(settings)
    systems = theatre_systems_from_settings(settings, timeout=0.8)
    assert list(systems) == ["northlight"]
    northlight = systems["northlight"]
    assert isinstance(northlight, HttpTheatreSystem)
    assert northlight.base_url == "http://127.0.0.1:9000/api"
    assert (northlight.name, northlight.timeout) == ("northlight", 0.8)


def test_no_connected_systems_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THEATRE_SYSTEMS", raising=False)
    assert load_settings().THEATRE_SYSTEMS == {}


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        '{"local": {"base_url": "http://127.0.0.1:9000", "token": "t"}}',
        '{"Bad Name": {"base_url": "http://127.0.0.1:9000", "token": "t"}}',
        '{"northlight": {"base_url": "ftp://127.0.0.1", "token": "t"}}',
        '{"northlight": {"base_url": "http://127.0.0.1:9000", "token": ""}}',
        '{"northlight": {"base_url": "http://127.0.0.1:9000"}}',
    ],
)
def test_bad_theatre_configuration_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("THEATRE_SYSTEMS", value)
    with pytest.raises(ConfigurationError, match="THEATRE_SYSTEMS"):
        load_settings()
