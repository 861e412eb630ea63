"""Validating a catalogue file: every bad row is reported with its path and reason, good files parse."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from booking_core.catalogue import InvalidCatalogue, load_catalogue_file, parse_catalogue
from tests.catalogue.samples import NOW, sample_catalogue, show


def problems_of(data: object) -> InvalidCatalogue:
    with pytest.raises(InvalidCatalogue) as caught:
        parse_catalogue(data)
    return caught.value


def test_the_sample_parses_with_seats_expanded_from_both_row_forms() -> None:
    catalogue = parse_catalogue(sample_catalogue())

    hall = catalogue.halls[0]
    places = [(p.row_index, p.row_label, p.number, p.column, p.category) for p in hall.seat_places()]
    assert places == [
        (0, "A", 1, 1, "wheelchair"),
        (0, "A", 2, 2, "wheelchair"),
        (0, "A", 3, 4, "standard"),  # column 3 is the aisle
        (0, "A", 4, 5, "standard"),
        (1, "B", 1, 1, "standard"),
        (1, "B", 2, 2, "standard"),
        (1, "B", 3, 4, "premium"),
    ]
    assert catalogue.shows[0].starts_at == NOW.replace(hour=12)
    assert catalogue.cinemas[0].system == "local"


def test_three_bad_rows_are_all_reported_with_paths_and_reasons() -> None:
    data = sample_catalogue()
    data["shows"][1]["hall"] = "Hall 9"
    data["shows"][3]["prices"] = {"standard": 12.5}
    data["movies"][2]["runtime_minutes"] = "long"

    error = problems_of(data)

    assert error.bad_rows == ("movies[2]", "shows[1]", "shows[3]")
    messages = [str(problem) for problem in error.problems]
    assert "shows[1]: hall 'Hall 9' does not exist in cinema 'b-one'" in messages
    assert any(
        m.startswith("shows[3].prices.standard: money is an integer number of minor units") for m in messages
    )
    assert any(m.startswith("movies[2].runtime_minutes:") for m in messages)


def test_a_show_must_price_every_seat_category_of_its_hall() -> None:
    data = sample_catalogue()
    data["shows"][0]["prices"] = {"standard": 1200}

    error = problems_of(data)

    assert [str(p) for p in error.problems] == [
        "shows[0]: no price for seat categories premium, wheelchair of hall 'Hall 1'"
    ]


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        (
            lambda d: d["shows"][0].update(starts_at="2030-06-01T12:00:00"),
            "shows[0].starts_at",
            "no UTC offset",
        ),
        (lambda d: d["shows"][0].update(starts_at=1906000000), "shows[0].starts_at", "ISO 8601"),
        (lambda d: d["shows"][2]["prices"].update(standard=True), "shows[2].prices.standard", "minor units"),
        (lambda d: d["shows"][2].update(currency="eur"), "shows[2].currency", "pattern"),
        (
            lambda d: d["cities"][0].update(timezone="Europe/Atlantis"),
            "cities[0].timezone",
            "unknown time zone",
        ),
        (lambda d: d["cities"][0].update(latitude=95), "cities[0].latitude", "less than or equal to 90"),
        (lambda d: d["cinemas"][1].update(city="Bremen"), "cinemas[1]", "city 'Bremen' is not among"),
        (lambda d: d["cinemas"][1].update(screens=3), "cinemas[1].screens", "Extra inputs"),
        (lambda d: d["halls"][1]["rows"][0].update(layout="SSXS"), "halls[1]", "unknown seat letter 'X'"),
        (lambda d: d["halls"][1]["rows"].append({"label": "A", "layout": "SS"}), "halls[1]", "appears twice"),
        (
            lambda d: d["halls"][1]["rows"][0].update(seats=[]),
            "halls[1].rows[0]",
            "either 'seats' or 'layout'",
        ),
        (lambda d: d["movies"].append(dict(d["movies"][0])), "movies[4]", "movie 'alpha' appears twice"),
        (lambda d: d["shows"][1].update(starts_at=d["shows"][0]["starts_at"]), "shows[1]", "time slot"),
        (lambda d: d["shows"][3].update(movie="zulu"), "shows[3]", "movie 'zulu' is not among"),
        (lambda d: d.update(version=2), "version", "expected 1"),
        (lambda d: d.update(screenings=[]), "screenings", "unknown section"),
    ],
)
def test_each_kind_of_bad_row_is_explained(
    change: Callable[[dict[str, Any]], object], path: str, fragment: str
) -> None:
    data = sample_catalogue()
    change(data)

    error = problems_of(data)

    assert [p.path for p in error.problems] == [path], error.describe()
    assert fragment in error.problems[0].message


def test_rows_that_point_at_a_bad_row_are_not_reported_again() -> None:
    data = sample_catalogue()
    data["halls"][0]["rows"][0]["layout"] = "WW?SS"  # every show in b-one's Hall 1 depends on it
    data["movies"][0]["title"] = ""  # so does every show of "alpha"

    error = problems_of(data)

    assert error.bad_rows == ("halls[0]", "movies[0]")


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "schedule.json"
    path.write_text('{"version": 1, "movies": [}', encoding="utf-8")

    with pytest.raises(InvalidCatalogue) as caught:
        load_catalogue_file(path)

    assert str(caught.value.problems[0]).startswith("file: not valid JSON")


def test_a_file_on_disk_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "schedule.json"
    data = sample_catalogue()
    data["shows"].append(show("late", "hh", "Elbe", "delta", datetime(2030, 6, 3, 20, 0, tzinfo=UTC)))
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    catalogue = load_catalogue_file(path)

    assert len(catalogue.shows) == 9
    assert catalogue.shows[-1].starts_at.tzinfo is not None


def test_the_documented_example_is_a_valid_file() -> None:
    text = (Path(__file__).parents[2] / "docs" / "catalogue-format.md").read_text(encoding="utf-8")
    example = text.split("### Example")[1].split("```json")[1].split("```")[0]

    catalogue = parse_catalogue(json.loads(example))

    assert [(p.row_label, p.number, p.column) for p in catalogue.halls[0].seat_places()][-2:] == [
        ("D", 2, 1),
        ("D", 1, 2),
    ]
    assert catalogue.shows[0].starts_at == datetime(2030, 6, 1, 17, 30, tzinfo=UTC)
