"""Theatre DB v1 databases on real engines (SQLite, PostgreSQL, MariaDB), seeded with the sandbox chain.

Each test gets a fresh database of its own (named with the pid and a random part) made with the shipped
scripts, dropped while the next tests run (tests/support/dropping.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.theatre.database import DatabaseTheatreSystem
from tests.support.clocks import TheatreClock
from tests.support.theatre_links import (
    database_server,
    database_show,
    empty_theatre_database,
    seeded_theatre_database,
)

ENGINES = ["sqlite", "postgresql", "mariadb"]


@pytest.fixture(params=ENGINES)
def theatre_db_server(request: pytest.FixtureRequest) -> str | None:
    """The server URL for each engine: None for SQLite (always tested), the servers when configured."""
    return database_server(request, request.param)


@pytest.fixture
async def theatre_db_url(theatre_db_server: str | None, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database for a theatre: a SQLite file, or a database of this process on the server."""
    async with empty_theatre_database(theatre_db_server, tmp_path) as url:
        yield url


@pytest.fixture
def theatre_clock() -> TheatreClock:
    """The time every application of the theatre database goes by."""
    return TheatreClock()


@pytest.fixture
async def theatre_db(theatre_db_url: str, theatre_clock: TheatreClock) -> AsyncIterator[AsyncEngine]:
    """The theatre's database with the Theatre DB v1 tables and the sandbox chain: the box office's engine."""
    engine = await seeded_theatre_database(theatre_db_url, theatre_clock)
    yield engine
    await engine.dispose()


@pytest.fixture
async def theatre(
    theatre_db: AsyncEngine, theatre_db_url: str, theatre_clock: TheatreClock
) -> AsyncIterator[DatabaseTheatreSystem]:
    """Marquee's database link to the theatre (timeouts generous for a busy machine: they have own tests)."""
    async with DatabaseTheatreSystem(
        theatre_db_url, name="elbe", timeout=10.0, clock=theatre_clock
    ) as theatre:
        yield theatre


@pytest.fixture
async def rival(
    theatre_db: AsyncEngine, theatre_db_url: str, theatre_clock: TheatreClock
) -> AsyncIterator[DatabaseTheatreSystem]:
    """Another booking application writing the same database."""
    async with DatabaseTheatreSystem(
        theatre_db_url, name="rival", application="rival", timeout=10.0, clock=theatre_clock
    ) as rival:
        yield rival


@pytest.fixture
async def show_id(theatre_db: AsyncEngine, theatre_clock: TheatreClock) -> str:
    """A show in the big hall (riverside-1: rows A-H, 12 seats, aisle after 6) starting in 2-3 days."""
    return await database_show(theatre_db, theatre_clock)
