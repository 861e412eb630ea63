"""Declaring actors on a broker built at start-up (no import-time global broker).

Each actor module lists `ActorSpec`s: the async function, its queue and its retry policy, stated where
the actor is declared. `register_actors` binds them to a broker with the worker context injected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import dramatiq

from booking_core.log_context import correlation_id
from workers.context import ContextProvider, WorkerContext

ActorFunction = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class ActorSpec:
    """One actor: `fn(context, *args)` with its queue and bounded retries."""

    name: str
    fn: ActorFunction
    queue: str = "default"
    max_retries: int = 10
    min_backoff_ms: int = 500
    max_backoff_ms: int = 60_000
    # Exceptions that mean "retrying cannot help": recorded, never retried.
    throws: tuple[type[BaseException], ...] = ()
    time_limit_ms: int = 60_000
    options: dict[str, Any] = field(default_factory=dict)


def register_actors(
    broker: dramatiq.Broker, specs: Iterable[ActorSpec], context: ContextProvider
) -> dict[str, dramatiq.Actor[Any, Any]]:
    """Declare every spec on `broker`; each call receives the worker context first."""
    actors: dict[str, dramatiq.Actor[Any, Any]] = {}
    for spec in specs:
        actors[spec.name] = dramatiq.Actor(
            _with_context(spec.fn, context),
            broker=broker,
            actor_name=spec.name,
            queue_name=spec.queue,
            priority=0,
            options={
                "max_retries": spec.max_retries,
                "min_backoff": spec.min_backoff_ms,
                "max_backoff": spec.max_backoff_ms,
                "throws": spec.throws,
                "time_limit": spec.time_limit_ms,
                **spec.options,
            },
        )
    return actors


def _with_context(fn: ActorFunction, context: ContextProvider) -> Callable[..., Awaitable[None]]:
    async def run(*args: Any) -> None:
        correlation_id.set(f"{fn.__name__}:{':'.join(map(str, args))[:48]}")
        await fn(await context(), *args)

    run.__name__ = fn.__name__
    run.__module__ = fn.__module__
    return run


async def send(actor: dramatiq.Actor[Any, Any], *args: Any, delay_ms: int | None = None) -> None:
    """Enqueue a message without blocking the event loop on the broker's network round trip."""
    await asyncio.to_thread(actor.send_with_options, args=args, delay=delay_ms)


def lazy_context(open_context: Callable[[], Awaitable[WorkerContext]]) -> ContextProvider:
    """A provider that opens the context once, on first use, whichever loop asks first."""
    lock = asyncio.Lock()
    opened: list[WorkerContext] = []

    async def provide() -> WorkerContext:
        if not opened:
            async with lock:
                if not opened:
                    opened.append(await open_context())
        return opened[0]

    return provide
