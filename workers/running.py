"""Running Dramatiq workers inside our own process (the `worker` and `run` roles, and tests)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

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
