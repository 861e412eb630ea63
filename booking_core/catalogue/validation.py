"""Read a whole catalogue file and list every bad row before anything is imported.

Each row is checked on its own first; then references between rows are resolved. A row that points
at another row which is itself bad is not reported again: the bad row it points at is the problem.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Hashable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from booking_core.catalogue.errors import InvalidCatalogue, RowProblem
from booking_core.catalogue.file_format import (
    FORMAT_VERSION,
    SECTIONS,
    Catalogue,
    CinemaSpec,
    CitySpec,
    HallSpec,
    MovieSpec,
    ShowSpec,
    clean_message,
)

T = TypeVar("T")

_SECTION_RANK = {name: rank for rank, name in enumerate(["version", *SECTIONS])}


class _Problems:
    """Problems in file order (section, then row), whatever order the checks found them in."""

    def __init__(self) -> None:
        self._found: list[tuple[int, int, int, RowProblem]] = []

    def add(self, section: str, index: int, path: str, message: str) -> None:
        rank = _SECTION_RANK.get(section, len(_SECTION_RANK))
        self._found.append((rank, index, len(self._found), RowProblem(path, message)))

    def row(self, section: str, index: int, message: str) -> None:
        self.add(section, index, f"{section}[{index}]", message)

    def __bool__(self) -> bool:
        return bool(self._found)

    def in_order(self) -> list[RowProblem]:
        return [problem for *_, problem in sorted(self._found, key=lambda found: found[:3])]


def load_catalogue_file(path: Path) -> Catalogue:
    """Read and validate a catalogue file; InvalidCatalogue lists every problem (OSError if unreadable)."""
    try:
        data = json.loads(path.read_bytes(), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise InvalidCatalogue([RowProblem("file", "not UTF-8 text")]) from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise InvalidCatalogue([RowProblem("file", f"not valid JSON: {error.msg} ({where})")]) from None
    except ValueError as error:
        raise InvalidCatalogue([RowProblem("file", str(error))]) from None
    return parse_catalogue(data)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"not valid JSON: {name} is not a number")


def parse_catalogue(data: object) -> Catalogue:
    """Validate a decoded catalogue file; InvalidCatalogue lists every bad row with its reason."""
    problems = _Problems()
    if not isinstance(data, dict):
        raise InvalidCatalogue([RowProblem("file", "expected a JSON object with 'version' and sections")])
    if data.get("version") != FORMAT_VERSION:
        problems.add("version", -1, "version", f"expected {FORMAT_VERSION}, found {data.get('version')!r}")
    for key in data:
        if key != "version" and key not in SECTIONS:
            problems.add(str(key), -1, str(key), f"unknown section (known: {', '.join(SECTIONS)})")
    rows: dict[str, list[BaseModel]] = {}
    broken: dict[str, set[Hashable]] = defaultdict(set)
    for section, model in SECTIONS.items():
        raw_rows = data.get(section, [])
        if not isinstance(raw_rows, list):
            problems.add(section, -1, section, "expected a list of rows")
            raw_rows = []
        rows[section] = []
        for index, raw in enumerate(raw_rows):
            try:
                rows[section].append(model.model_validate(raw))
            except ValidationError as error:
                _report(problems, section, index, error)
                broken[section].add(_raw_key(section, raw))
                rows[section].append(_BROKEN)
    _check_references(rows, broken, problems)
    if problems:
        raise InvalidCatalogue(problems.in_order())
    return Catalogue(
        cities=tuple(_typed(rows["cities"], CitySpec)),
        cinemas=tuple(_typed(rows["cinemas"], CinemaSpec)),
        halls=tuple(_typed(rows["halls"], HallSpec)),
        movies=tuple(_typed(rows["movies"], MovieSpec)),
        shows=tuple(_typed(rows["shows"], ShowSpec)),
    )


class _Broken(BaseModel):
    """Stands in for a row that failed its own checks, so indexes still match the file."""


_BROKEN = _Broken()


def _typed(rows: list[BaseModel], kind: type[T]) -> list[T]:
    return [row for row in rows if isinstance(row, kind)]


def _report(problems: _Problems, section: str, index: int, error: ValidationError) -> None:
    for detail in error.errors():
        path = f"{section}[{index}]"
        for part in detail["loc"]:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        problems.add(section, index, path, clean_message(detail["msg"]))


def _raw_key(section: str, raw: object) -> Hashable:
    """The key other rows use to refer to a bad row, as far as it can be read."""
    if not isinstance(raw, dict):
        return None

    def field(name: str) -> object:
        value = raw.get(name)
        return value.strip() if isinstance(value, str) else value

    if section == "cities":
        return field("name")
    if section == "halls":
        return (field("cinema"), field("name"))
    return field("id")


def _check_references(
    rows: dict[str, list[BaseModel]], broken: dict[str, set[Hashable]], problems: _Problems
) -> None:
    cities = _unique(rows["cities"], CitySpec, "cities", lambda c: c.name, "city", problems)
    cinemas = _unique(rows["cinemas"], CinemaSpec, "cinemas", lambda c: c.id, "cinema", problems)
    halls = _unique(rows["halls"], HallSpec, "halls", lambda h: (h.cinema, h.name), "hall", problems)
    with_ids = [(index, hall) for index, hall in _each(rows["halls"], HallSpec) if hall.id is not None]
    seen_ids: dict[tuple[str, str | None], int] = {}
    for index, hall in with_ids:
        first = seen_ids.setdefault((hall.cinema, hall.id), index)
        if first != index:
            problems.row("halls", index, f"hall id {hall.id!r} appears twice (first as halls[{first}])")
    movies = _unique(rows["movies"], MovieSpec, "movies", lambda m: m.id, "movie", problems)
    for index, cinema in _each(rows["cinemas"], CinemaSpec):
        if cinema.city not in cities and cinema.city not in broken["cities"]:
            problems.row("cinemas", index, f"city {cinema.city!r} is not among the file's cities")
    for index, hall in _each(rows["halls"], HallSpec):
        if hall.cinema not in cinemas and hall.cinema not in broken["cinemas"]:
            problems.row("halls", index, f"cinema {hall.cinema!r} is not among the file's cinemas")
    _unique(rows["shows"], ShowSpec, "shows", lambda s: s.id, "show", problems)
    _unique(
        rows["shows"], ShowSpec, "shows", lambda s: (s.cinema, s.hall, s.starts_at), "time slot", problems
    )
    for index, show in _each(rows["shows"], ShowSpec):
        for message in _show_problems(show, cinemas, halls, movies, broken):
            problems.row("shows", index, message)


def _show_problems(
    show: ShowSpec,
    cinemas: dict[Hashable, CinemaSpec],
    halls: dict[Hashable, HallSpec],
    movies: dict[Hashable, MovieSpec],
    broken: dict[str, set[Hashable]],
) -> list[str]:
    found: list[str] = []
    if show.movie not in movies and show.movie not in broken["movies"]:
        found.append(f"movie {show.movie!r} is not among the file's movies")
    if show.cinema not in cinemas:
        if show.cinema not in broken["cinemas"]:
            found.append(f"cinema {show.cinema!r} is not among the file's cinemas")
        return found
    hall = halls.get((show.cinema, show.hall))
    if hall is None:
        if (show.cinema, show.hall) not in broken["halls"]:
            found.append(f"hall {show.hall!r} does not exist in cinema {show.cinema!r}")
        return found
    missing = sorted(hall.categories() - show.prices.keys())
    if missing:
        found.append(f"no price for seat categories {', '.join(missing)} of hall {show.hall!r}")
    return found


def _each(rows: list[BaseModel], kind: type[T]) -> list[tuple[int, T]]:
    return [(index, row) for index, row in enumerate(rows) if isinstance(row, kind)]


def _unique(
    rows: list[BaseModel], kind: type[T], section: str, key: Any, what: str, problems: _Problems
) -> dict[Hashable, T]:
    """Rows by key; a repeated key is a bad row pointing at the first one."""
    first: dict[Hashable, tuple[int, T]] = {}
    for index, row in _each(rows, kind):
        value = key(row)
        if value in first:
            problems.row(
                section,
                index,
                f"{what} {_shown(value)} appears twice (first as {section}[{first[value][0]}])",
            )
        else:
            first[value] = (index, row)
    return {value: row for value, (_, row) in first.items()}


def _shown(value: Hashable) -> str:
    if isinstance(value, tuple):
        return " / ".join(item.isoformat() if hasattr(item, "isoformat") else repr(item) for item in value)
    return repr(value)
