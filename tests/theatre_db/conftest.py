"""Theatre DB v1 databases on real engines (SQLite, PostgreSQL, MariaDB), seeded with the sandbox chain.

Each test gets a fresh database of its own (named with the pid and a random part) made with the shipped
scripts; it is dropped while the next tests run (tests/support/dropping.py).
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.theatre.database import DatabaseTheatreSystem
from adapters.theatre.db_tables import shows
from sandbox.theatre_db.schema import create_schema
from sandbox.theatre_db.seed import seed_chain
from tests.support.clocks import TheatreClock
from tests.support.dropping import drop_later

ENGINES = ["sqlite", "postgresql", "mariadb"]


async def on_server(server_url: str, *statements: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(params=ENGINES)
def theatre_db_server(request: pytest.FixtureRequest) -> str | None:
    """The server URL for each engine: None for SQLite (always tested), the servers when configured."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    if request.param == "mariadb":
        return str(request.getfixturevalue("mariadb_url"))
    return None


@pytest.fixture
async def theatre_db_url(theatre_db_server: str | None, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database for a theatre: a SQLite file, or a database of this process on the server."""
    if theatre_db_server is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'theatre.db'}"
        return
    name = f"theatre_db_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    if make_url(theatre_db_server).get_backend_name() == "postgresql":
        drop, create = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    else:
        drop, create = f"DROP DATABASE IF EXISTS `{name}`", f"CREATE DATABASE `{name}`"
    await on_server(theatre_db_server, create)
    yield make_url(theatre_db_server).set(database=name).render_as_string(hide_password=False)
    drop_later(functools.partial(on_server, theatre_db_server, drop))


@pytest.fixture
def theatre_clock() -> TheatreClock:
    """The time every application of the theatre database goes by."""
    return TheatreClock()


@pytest.fixture
async def theatre_db(theatre_db_url: str, theatre_clock: TheatreClock) -> AsyncIterator[AsyncEngine]:
    """The theatre's database with the Theatre DB v1 tables and the sandbox chain: the box office's engine."""
    engine = create_async_engine(theatre_db_url)
    await create_schema(engine)
    await seed_chain(engine, theatre_clock.now)
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
    soon = (theatre_clock.now + timedelta(days=2)).replace(tzinfo=None)
    async with theatre_db.connect() as connection:
        found = await connection.execute(
            select(shows.c.id)
            .where(shows.c.hall_id == "riverside-1", shows.c.starts_at > soon)
            .order_by(shows.c.starts_at)
            .limit(1)
        )
        return str(found.scalar_one())
