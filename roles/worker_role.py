"""The worker role: Dramatiq actors (payments, delivery) plus the periodic passes of the core.

Actors run on Dramatiq's own event-loop thread, so their database and Redis clients are opened there
(lazily, by `workers.running.ActorContext`) and closed there before the worker stops. The periodic
passes (sweeper, outbox relay, lost-event requeue, refunds) run on the role's own loop with a context
of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import dramatiq

from booking_core.events import EventSink
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
from workers.registry import ActorSpec, register_actors
from workers.running import ActorContext, actors_in_background
from workers.theatre import run_theatre_passes

log = logging.getLogger(__name__)

ACTORS: tuple[ActorSpec, ...] = (*PAYMENT_ACTORS, *DELIVERY_ACTORS)
RELAY_INTERVAL_SECONDS = 15.0
WORKER_THREADS = 8


@asynccontextmanager
async def open_full_worker_context(
    settings: MarqueeSettings,
    endpoints: Endpoints,
    broker: dramatiq.Broker | None,
    *,
    events: EventSink | None = None,
) -> AsyncIterator[WorkerContext]:
    """The core and the senders for one event loop.

    The core's events are told to users over Telegram, or go to `events` instead when given (a test
    reading them). Reminders of holds and offers are a bot process's to send (bot/hold_reminders.py).
    """
    notifier = TelegramNotifier()
    async with (
        open_core(settings, endpoints.redis_url, events or notifier) as core,
        open_worker_context(core, endpoints, broker) as context,
    ):
        if events is not None:
            yield context
            return
        notifier.bind(context.telegram, core)
        try:
            yield context
        finally:
            await notifier.drain()


def worker_actors(settings: MarqueeSettings, endpoints: Endpoints, broker: dramatiq.Broker) -> ActorContext:
    """Every actor of the worker role declared on `broker`, their context opened on Dramatiq's loop."""
    return ActorContext(broker, ACTORS, lambda: open_full_worker_context(settings, endpoints, broker))


def declare_jobs(endpoints: Endpoints) -> DramatiqJobs:
    """Jobs for a process that only sends work (the web role): actors declared, never run here."""
    broker = build_broker(endpoints.broker_url)

    async def never_opened() -> WorkerContext:
        raise RuntimeError("this process sends jobs; it does not run actors")

    return DramatiqJobs(register_actors(broker, ACTORS, never_opened))


async def run_worker(settings: MarqueeSettings, endpoints: Endpoints, stop: asyncio.Event) -> None:
    """Consume every queue and run the periodic passes until `stop` is set; then finish in-flight work."""
    broker = build_broker(endpoints.broker_url)
    actors = worker_actors(settings, endpoints, broker)
    async with (
        actors_in_background(broker, actors, threads=WORKER_THREADS),
        open_full_worker_context(settings, endpoints, broker) as context,
    ):
        context.jobs = actors.jobs
        log.info("worker running: actors %s", ", ".join(spec.name for spec in ACTORS))
        await asyncio.gather(
            run_periodic_tasks(context, stop),
            _relay_outbox(context, stop),
            run_theatre_passes(context, stop),
        )


async def _relay_outbox(context: WorkerContext, stop: asyncio.Event) -> None:
    # Rows whose relay never ran (a crash between commit and enqueue), retries and reminders falling due.
    while not stop.is_set():
        try:
            await relay_due(context, utc_now())
        except Exception:
            log.exception("outbox relay pass failed; trying again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=RELAY_INTERVAL_SECONDS)
