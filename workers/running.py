"""Running Dramatiq workers inside our own process (the `worker` and `run` roles, and tests), with the
actors' context opened and closed on Dramatiq's own event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, contextmanager

import dramatiq
from dramatiq.asyncio import get_event_loop_thread

from workers.context import ContextProvider, WorkerContext
from workers.jobs import PAYMENT_ACTOR_NAMES, DramatiqJobs
from workers.registry import ActorSpec, lazy_context, register_actors

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


# Opens the actors' context; it is closed when the block ends.
ContextOpener = Callable[[], AbstractAsyncContextManager[WorkerContext]]


class ActorContext:
    """Declares actors on a broker whose context is opened once, on Dramatiq's event loop, and closed there.

    The loop is Dramatiq's own thread, so the clients the context holds belong to it: `open_context`
    runs there on the first message, and `close` (or `actors_in_background`) closes it there. Where the
    payment actors are among `specs`, `jobs` sends to them, and the context can enqueue follow-up work.
    """

    def __init__(
        self, broker: dramatiq.Broker, specs: Iterable[ActorSpec], open_context: ContextOpener
    ) -> None:
        self._open_context = open_context
        self._stack: AsyncExitStack | None = None
        self.context: ContextProvider = lazy_context(self._open)
        actors = register_actors(broker, specs, self.context)
        self.jobs = DramatiqJobs(actors) if actors.keys() >= PAYMENT_ACTOR_NAMES else None

    async def _open(self) -> WorkerContext:
        stack = AsyncExitStack()
        context = await stack.enter_async_context(self._open_context())
        context.jobs = self.jobs
        self._stack = stack
        return context

    def close(self) -> None:
        """Close the context on the loop it was opened on (blocking: call it from a thread)."""
        loop_thread = get_event_loop_thread()
        if self._stack is not None and loop_thread is not None:
            loop_thread.run_coroutine(self._stack.aclose())
        self._stack = None


@asynccontextmanager
async def actors_in_background(
    broker: dramatiq.Broker, actors: ActorContext, *, threads: int = 4, queues: Iterable[str] | None = None
) -> AsyncIterator[dramatiq.Worker]:
    """`worker_in_background` for `actors`: their context closes on its own loop before the worker stops."""
    async with worker_in_background(broker, threads=threads, queues=queues) as worker:
        try:
            yield worker
        finally:
            await asyncio.to_thread(actors.close)
