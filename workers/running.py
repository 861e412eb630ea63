"""Running Dramatiq workers inside our own process (the `worker` and `run` roles, and tests)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager

import dramatiq

# How long a stopping worker waits for in-flight messages before giving up on them (they are requeued).
STOP_TIMEOUT_MS = 20_000


@contextmanager
def running_worker(
    broker: dramatiq.Broker, *, threads: int = 4, queues: Iterable[str] | None = None
) -> Iterator[dramatiq.Worker]:
    """Consume `queues` (all declared ones by default) until the block ends, then stop gracefully."""
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(
        broker, worker_threads=threads, queues=set(queues) if queues else None, worker_timeout=100
    )
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(timeout=STOP_TIMEOUT_MS)
        broker.close()


@asynccontextmanager
async def worker_in_background(
    broker: dramatiq.Broker, *, threads: int = 4, queues: Iterable[str] | None = None
) -> AsyncIterator[dramatiq.Worker]:
    """`running_worker` for async code: starting and stopping happen off the event loop."""
    running = running_worker(broker, threads=threads, queues=queues)
    worker = await asyncio.to_thread(running.__enter__)
    try:
        yield worker
    finally:
        await asyncio.to_thread(running.__exit__, None, None, None)
