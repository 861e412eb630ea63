"""SQLite under concurrency: writers queue at BEGIN, and readers never wait for them."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core import database
from booking_core.database import POLL_WRITE_LOCK, create_engine, create_session_factory
from booking_core.models import Base, City

# How long 20 reads may take beside the write: generous, since the writer waits for them.
READERS_WITHIN = 10.0


async def test_readers_are_not_blocked_by_a_long_write_and_cannot_write(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    writer_engine, reader_engine = create_engine(url), create_engine(url, read_only=True)
    async with writer_engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    writes, reads = create_session_factory(writer_engine), create_session_factory(reader_engine)
    try:
        # Given a writer that holds the write lock until the readers are done (or gives up waiting),
        write_started, readers_done = asyncio.Event(), asyncio.Event()

        async def long_write() -> None:
            async with writes() as session, session.begin():
                session.add(City(name="Berlin", latitude=52.5, longitude=13.4, timezone="Europe/Berlin"))
                await session.flush()
                write_started.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(readers_done.wait(), timeout=READERS_WITHIN * 2)

        writing = asyncio.create_task(long_write())
        await write_started.wait()

        # when 20 readers read meanwhile, they all finish before the writer commits, seeing no city yet,
        async def count() -> int:
            async with reads() as session:
                return int(await session.scalar(select(func.count()).select_from(City)) or 0)

        # (readers blocked by the writer would wait out the bound: the writer commits only after it)
        counts = await asyncio.wait_for(asyncio.gather(*(count() for _ in range(20))), timeout=READERS_WITHIN)
        readers_done.set()
        assert counts == [0] * 20
        await writing
        assert await count() == 1
        # and a reader cannot write.
        async with reads() as session:
            with pytest.raises(OperationalError, match="readonly"):
                await session.execute(text("DELETE FROM cities"))
    finally:
        await writer_engine.dispose()
        await reader_engine.dispose()


@pytest.fixture
async def short_busy_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Path, AsyncEngine]]:
    """A SQLite file with the schema and its engine, with a busy timeout of 300 ms."""
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 300)
    path = tmp_path / "m.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield path, engine
    await engine.dispose()


async def test_a_polling_writer_gives_up_after_the_busy_timeout_and_its_connection_waits_again(
    short_busy_file: tuple[Path, AsyncEngine],
) -> None:
    # Given a busy timeout of 300 ms, and another connection holding the SQLite write lock
    path, engine = short_busy_file
    with _write_lock_held(path):
        # When a polling writer begins (as the webhook inbox does)
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"):
            async with engine.connect() as connection:
                polling = await connection.execution_options(**{POLL_WRITE_LOCK: True})
                await polling.begin()
        # Then it gave up after the busy timeout, not at once and not much later
        assert 0.3 <= time.monotonic() - started < 5
    # And the connection it used waits the whole busy timeout again for any other writer
    async with engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 300


async def test_a_polled_write_commits_rolls_back_what_raises_and_gives_up_on_a_held_lock(
    short_busy_file: tuple[Path, AsyncEngine],
) -> None:
    # Given a SQLite file's blocking engine (busy timeout 300 ms), as the webhook inbox writes through
    path, engine = short_busy_file
    blocking = database.sqlite_file_engine(engine)
    assert blocking is not None
    insert_city = "INSERT INTO cities (name, latitude, longitude, timezone) VALUES (?, 0, 0, 'UTC')"
    try:
        # When one write's block ends, and another's raises after its insert
        with database.polled_write(blocking) as cursor:
            cursor.execute(insert_city, ["Berlin"])
        with pytest.raises(RuntimeError), database.polled_write(blocking) as cursor:
            cursor.execute(insert_city, ["Paris"])
            raise RuntimeError("the caller failed")
        # Then the first is kept and the second is not
        assert _cities(path) == ["Berlin"]
        # And while another connection holds the write lock, a write gives up after the busy timeout
        # with SQLAlchemy's error, as the engine's own writes do
        with _write_lock_held(path):
            started = time.monotonic()
            with (
                pytest.raises(OperationalError, match="database is locked"),
                database.polled_write(blocking) as cursor,
            ):
                cursor.execute(insert_city, ["Rome"])
            assert 0.3 <= time.monotonic() - started < 5
        # And once it is free, the same pooled connection writes again
        with database.polled_write(blocking) as cursor:
            cursor.execute(insert_city, ["Madrid"])
        assert _cities(path) == ["Berlin", "Madrid"]
    finally:
        blocking.dispose()


@contextlib.contextmanager
def _write_lock_held(path: Path) -> Iterator[None]:
    """Another connection holds the SQLite file's write lock until the block ends."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _cities(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return [name for (name,) in connection.execute("SELECT name FROM cities ORDER BY id")]
