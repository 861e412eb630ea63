"""Dropping a test's own database (or RabbitMQ vhost) after the test, without the next test waiting for it.

DROP DATABASE makes PostgreSQL finish a checkpoint before it returns: on a server busy with the rest of
the suite that takes from a second to ten. A database of each test's own keeps the tests apart and
nothing reads it after its test, so its drop runs on a thread while the next tests go on; drops running
side by side share one checkpoint. The session waits for the drops still running at its end, and fails
on the first that failed (`wait_for_drops`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

_dropper = ThreadPoolExecutor(max_workers=4, thread_name_prefix="drop-database")
_started: list[Future[None]] = []


def drop_later(drop: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `drop()` (a coroutine function that drops a database) on one of the dropping threads."""
    _started.append(_dropper.submit(lambda: asyncio.run(drop())))


def wait_for_drops() -> None:
    """Wait for every drop started so far; then raise the first failure, if any."""
    finished = [future.exception() for future in _started]
    _started.clear()
    failures = [failure for failure in finished if failure is not None]
    if failures:
        raise failures[0]
