"""The sandbox theatre's SQLite database, used from a small thread pool with one connection per thread.

Running each operation in a worker thread (not on the event loop) lets requests really overlap, as at
a theatre with several tills; `BEGIN IMMEDIATE` transactions then decide who goes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from sandbox.theatre.schema import connect, create_schema

T = TypeVar("T")


class ThreadedDatabase:
    """A SQLite file, a thread pool to run operations in, and the theatre's clock."""

    def __init__(
        self,
        path: str,
        clock: Callable[[], datetime] | None = None,
        workers: int = 8,
    ) -> None:
        self.path = path
        self.clock = clock or (lambda: datetime.now(UTC))
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="theatre-db")
        create_schema(self._connection())

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = connect(self.path)
            self._local.connection = connection
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    def close(self) -> None:
        """Finish running operations and close every connection."""
        self._executor.shutdown(wait=True)
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    async def call(self, operation: Callable[..., T], *args: Any) -> T:
        """Run one of this database's operations in its thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(operation, *args))

    def now(self) -> float:
        """The theatre's clock as UNIX seconds."""
        return self.clock().timestamp()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One BEGIN IMMEDIATE transaction on this thread's connection, rolled back on any exception."""
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
