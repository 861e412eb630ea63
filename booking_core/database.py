"""The async SQL engine and session factory, tuned per backend (SQLite embedded, PostgreSQL at scale)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_blocking_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Execution option of a connection whose transactions must get the SQLite write lock in the gaps
# between other writers' back-to-back transactions (webhook intake behind a worker's confirmations).
# SQLite's busy handler sleeps ever longer between its looks at the lock (1, 2, 5, 10, ... then 100 ms
# at a time) and so misses gaps of a few milliseconds; such a connection instead lets each try of its
# BEGIN IMMEDIATE wait only SQLITE_LOCK_POLL_MS (SQLite looks at 0, 1, 3 and 5 ms) and tries again,
# until SQLITE_BUSY_TIMEOUT_MS in all.
POLL_WRITE_LOCK = "marquee_poll_write_lock"
SQLITE_LOCK_POLL_MS = 5

SessionFactory = async_sessionmaker[AsyncSession]

# INSERT with ON CONFLICT, by backend (both of ours have it; plain `insert` does not).
_UPSERT_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def create_engine(database_url: str, *, read_only: bool = False) -> AsyncEngine:
    """Build the engine for DATABASE_URL; SQLite gets WAL, foreign keys and a busy timeout.

    On SQLite, writing transactions take the write lock at BEGIN; a `read_only` engine's transactions
    read a snapshot without waiting for writers at all (and refuse to write).
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine.sync_engine, "connect", _tune_sqlite_connection)
    if read_only:
        event.listen(engine.sync_engine, "connect", _refuse_writes)
        event.listen(engine.sync_engine, "begin", _begin_deferred)
    else:
        event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def sqlite_file_engine(engine: AsyncEngine) -> Engine | None:
    """A blocking engine on the same SQLite file as `engine` (stdlib sqlite3, tuned and beginning alike),
    for a write done whole in one worker thread (`polled_write`); None unless `engine` is a file-backed
    SQLite one.

    Through aiosqlite every statement of a transaction (and every try at the write lock) is a hop to its
    thread and back; through this engine, run in a thread, the whole transaction is one.
    """
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    blocking = create_blocking_engine(
        url.set(drivername="sqlite"),
        # Called from whichever thread of the event loop's pool runs the write.
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    event.listen(blocking, "connect", _tune_sqlite_connection)
    event.listen(blocking, "begin", _begin_immediate)
    return blocking


def _tune_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the driver so that "begin" below decides how to start.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    # Writers queue on the database lock at BEGIN instead of failing to upgrade a read lock later,
    # which is what makes concurrent confirmations on SQLite wait their turn rather than error.
    if connection.get_execution_options().get(POLL_WRITE_LOCK):
        _poll_for_write_lock(connection)
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _poll_for_write_lock(connection: Any) -> None:
    # The tries go straight to the driver: each that finds the lock taken raises, and SQLAlchemy's
    # handling of an error costs more than the try itself.
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        if _begin_when_free(cursor):
            return
    finally:
        cursor.close()
    # Out of time, or another error: a last try, whose error SQLAlchemy raises as its own.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_when_free(cursor: sqlite3.Cursor) -> bool:
    """BEGIN IMMEDIATE, trying every SQLITE_LOCK_POLL_MS at most until SQLITE_BUSY_TIMEOUT_MS: whether it
    began (not if out of time, or on another error than a busy lock)."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_LOCK_POLL_MS}")
    try:
        while time.monotonic() < deadline:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    return False
        return False
    finally:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


@contextmanager
def polled_write(engine: Engine) -> Iterator[sqlite3.Cursor]:
    """A write transaction on a pooled connection of a `sqlite_file_engine`, straight on the driver: its
    BEGIN IMMEDIATE polled for the lock as a POLL_WRITE_LOCK connection's is; committed when the block
    ends, rolled back if it raises.

    For a short statement run often (a batch of webhooks), SQLAlchemy's execution costs more than
    what SQLite does; the caller writes the SQL and binds values SQLite stores as SQLAlchemy would.
    The driver's errors are raised as SQLAlchemy's (DBAPIError), as the engine's own would be.
    """
    connection = engine.raw_connection()
    driver = cast(sqlite3.Connection, connection.driver_connection)
    try:
        cursor = driver.cursor()
        try:
            if not _begin_when_free(cursor):
                cursor.execute("BEGIN IMMEDIATE")  # a last try: its error (busy, or another) is raised
            try:
                yield cursor
            except BaseException:
                if driver.in_transaction:  # (some errors end it themselves)
                    cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        finally:
            cursor.close()
    except sqlite3.Error as error:
        raise DBAPIError.instance(None, None, error, sqlite3.Error) from error
    finally:
        connection.close()


def _refuse_writes(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _begin_deferred(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def insert_or_skip(session: AsyncSession, table: Any) -> Any:
    """An INSERT into `table` for the session's backend; add `.on_conflict_do_nothing(...)`.

    A row that conflicts is skipped instead of failing the transaction, so no savepoint (two more
    round trips) has to wrap the insert; RETURNING tells which rows went in.
    """
    return insert_or_skip_on(session.get_bind().dialect.name, table)


def insert_or_skip_on(dialect_name: str, table: Any) -> Any:
    """`insert_or_skip` for a backend named by its dialect ("sqlite", "postgresql")."""
    return _UPSERT_INSERTS[dialect_name](table)
