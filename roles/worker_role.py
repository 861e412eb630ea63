"""The worker role: Dramatiq actors (payments, delivery) plus the periodic passes of the core.

Actors run on Dramatiq's own event-loop thread, so their database and Redis clients are opened there
(lazily, by `ActorContext`) and closed there before the worker stops. The periodic passes (sweeper,
outbox relay, lost-event requeue, refunds) run on the role's own loop with a context of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import dramatiq
from dramatiq.asyncio import get_event_loop_thread

from booking_core.models import utc_now
from bot.notifications import TelegramNotifier
from roles.endpoints import Endpoints
from roles.resources import open_core, open_worker_context
from roles.settings import MarqueeSettings
from workers.broker import build_broker
from workers.context import WorkerContext
from workers.delivery import DELIVERY_ACTORS
from workers.jobs import DramatiqJobs
from workers.outbox_relay import relay_due
from workers.payments import PAYMENT_ACTORS
from workers.periodic import run_periodic_tasks
from workers.registry import ActorSpec, lazy_context, register_actors
from workers.running import worker_in_background
from workers.theatre import run_theatre_passes

log = logging.getLogger(__name__)

ACTORS: tuple[ActorSpec, ...] = (*PAYMENT_ACTORS, *DELIVERY_ACTORS)
RELAY_INTERVAL_SECONDS = 15.0
WORKER_THREADS = 8


@asynccontextmanager
async def open_full_worker_context(
    settings: MarqueeSettings, endpoints: Endpoints, broker: dramatiq.Broker, jobs: DramatiqJobs | None
) -> AsyncIterator[WorkerContext]:
    """The core and the senders for one event loop, with core events told to users over Telegram."""
    notifier = TelegramNotifier()
    async with (
        open_core(settings, endpoints.redis_url, notifier) as core,
        open_worker_context(
            core,
            telegram_token=endpoints.telegram_token,
            telegram_api_base_url=endpoints.telegram_api_base_url,
            twilio_api_base_url=endpoints.twilio_api_base_url,
            twilio_credentials=endpoints.twilio_credentials,
            smtp_url=endpoints.smtp_url,
            broker=broker,
        ) as context,
    ):
        context.jobs = jobs
        notifier.bind(context.telegram, core)
        try:
            yield context
        finally:
            await notifier.drain()


class ActorContext:
    """Opens the actors' context once, on Dramatiq's event loop, and closes it there."""

    def __init__(self, settings: MarqueeSettings, endpoints: Endpoints, broker: dramatiq.Broker) -> None:
        self._settings, self._endpoints, self._broker = settings, endpoints, broker
        self._stack: AsyncExitStack | None = None
        self.jobs = DramatiqJobs(register_actors(broker, ACTORS, lazy_context(self._open)))

    async def _open(self) -> WorkerContext:
        stack = AsyncExitStack()
        context = await stack.enter_async_context(
            open_full_worker_context(self._settings, self._endpoints, self._broker, self.jobs)
        )
        self._stack = stack
        return context

    def close(self) -> None:
        """Close the context on the loop it was opened on (blocking: call it from a thread)."""
        loop_thread = get_event_loop_thread()
        if self._stack is not None and loop_thread is not None:
            loop_thread.run_coroutine(self._stack.aclose())
        self._stack = None


def declare_jobs(endpoints: Endpoints) -> DramatiqJobs:
    """Jobs for a process that only sends work (the web role): actors declared, never run here."""
    broker = build_broker(endpoints.broker_url)

    async def never_opened() -> WorkerContext:
        raise RuntimeError("this process sends jobs; it does not run actors")

    return DramatiqJobs(register_actors(broker, ACTORS, never_opened))


async def run_worker(settings: MarqueeSettings, endpoints: Endpoints, stop: asyncio.Event) -> None:
    """Consume every queue and run the periodic passes until `stop` is set; then finish in-flight work."""
    broker = build_broker(endpoints.broker_url)
    actors = ActorContext(settings, endpoints, broker)
    async with worker_in_background(broker, threads=WORKER_THREADS):
        try:
            async with open_full_worker_context(settings, endpoints, broker, actors.jobs) as context:
                log.info("worker running: actors %s", ", ".join(spec.name for spec in ACTORS))
                await asyncio.gather(
                    run_periodic_tasks(context, stop, actors.jobs),
                    _relay_outbox(context, stop),
                    run_theatre_passes(context, stop),
                )
        finally:
            await asyncio.to_thread(actors.close)


async def _relay_outbox(context: WorkerContext, stop: asyncio.Event) -> None:
    # Rows whose relay never ran (a crash between commit and enqueue), retries and reminders falling due.
    while not stop.is_set():
        try:
            await relay_due(context, utc_now())
        except Exception:
            log.exception("outbox relay pass failed; trying again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=RELAY_INTERVAL_SECONDS)
