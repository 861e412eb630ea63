"""Every kind of theatre link, for the one contract suite: the API (HTTP) and the database link on
SQLite, PostgreSQL and MariaDB (the servers when configured, as everywhere in the suite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.clocks import TheatreClock
from tests.support.theatre_links import (
    Adapter,
    TheatreLink,
    api_link,
    database_link,
    database_server,
    empty_theatre_database,
)

LINKS = ["api", "sqlite", "postgresql", "mariadb"]


@pytest.fixture
def theatre_clock() -> TheatreClock:
    """The time every application of the theatre goes by."""
    return TheatreClock()


@pytest.fixture(params=LINKS)
def link_server(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """(the kind of link, the database server for a database link on a server)."""
    return request.param, None if request.param == "api" else database_server(request, request.param)


@pytest.fixture
async def link(
    link_server: tuple[str, str | None], theatre_clock: TheatreClock, tmp_path: Path
) -> AsyncIterator[TheatreLink]:
    """A seeded connected theatre of this kind, with Marquee's adapter, a rival's and the till."""
    kind, server = link_server
    if kind == "api":
        async with api_link(theatre_clock) as theatre:
            yield theatre
        return
    async with empty_theatre_database(server, tmp_path) as url, database_link(url, theatre_clock) as theatre:
        yield theatre


@pytest.fixture
def theatre(link: TheatreLink) -> Adapter:
    """Marquee's adapter for the link."""
    return link.theatre


@pytest.fixture
def rival(link: TheatreLink) -> Adapter:
    """Another booking application selling the same theatre's seats."""
    return link.rival


@pytest.fixture
def show_id(link: TheatreLink) -> str:
    """A show in the big hall (riverside-1: rows A-H, 12 seats, aisle after 6) starting in 2-3 days."""
    return link.show_id
