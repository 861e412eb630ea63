"""The worker side of connected cinemas (DESIGN.md section 10): schedule syncs and unfinished sales.

Two periodic passes, safe to run in every worker process at once:
- `sync_theatres` every THEATRE_SYNC_SECONDS: each connected theatre's schedule into the catalogue
  (one process per theatre at a time, by a Redis lease); checkouts of withdrawn shows are handed to
  the expire_checkout actor when `jobs` is at hand.
- `finish_paid_unconfirmed` every few seconds: paid bookings still waiting for their theatre are
  committed again with the same idempotency keys, or refunded after THEATRE_COMMIT_DEADLINE_MINUTES
  (the payment passes then pay the money back).
`run_theatre_passes` runs both until stopped. Both take the worker's context, or the core
(roles/resources.Core): anything with the attributes of `TheatreResources`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Protocol

import redis.asyncio as aioredis

from booking_core.bookings.service import Bookings
from booking_core.bookings.theatre_commits import RetryReport
from booking_core.bookings.theatre_commits import finish_paid_unconfirmed as finish_waiting_sales
from booking_core.catalogue.queries import CatalogueQueries
from booking_core.database import SessionFactory
from booking_core.holds.store import HoldStore
from booking_core.models import utc_now
from booking_core.schedule_sync import TheatreSyncReport
from booking_core.schedule_sync import sync_theatres as sync_theatre_schedules
from booking_core.settings import Settings
from workers.passes import run_pass, wait_next

RETRY_INTERVAL_SECONDS = 5.0


class TheatreResources(Protocol):
    """What the theatre passes use: WorkerContext and roles/resources.Core both have it."""

    @property
    def settings(self) -> Settings: ...

    @property
    def sessions(self) -> SessionFactory: ...

    @property
    def redis(self) -> aioredis.Redis: ...

    @property
    def holds(self) -> HoldStore: ...

    @property
    def bookings(self) -> Bookings: ...


async def sync_theatres(resources: TheatreResources, now: datetime | None = None) -> list[TheatreSyncReport]:
    """Sync every connected theatre's schedule now; one report per theatre."""
    settings = resources.settings
    reports = await sync_theatre_schedules(
        resources.sessions,
        resources.holds,
        cache=CatalogueQueries(resources.sessions, resources.redis, settings.CATALOGUE_CACHE_SECONDS),
        events=resources.bookings.events,
        lease=resources.redis,
        now=now,
        days=settings.THEATRE_SYNC_DAYS,
    )
    jobs: Any = getattr(resources, "jobs", None)
    for report in reports:
        if jobs is None:
            continue  # a checkout paid anyway is refunded at confirmation: its show is off sale
        for checkout in report.withdrawn.checkouts_to_expire:
            await jobs.expire_checkout(checkout)
    return reports


async def finish_paid_unconfirmed(resources: TheatreResources, now: datetime | None = None) -> RetryReport:
    """Commit (or refund) the paid bookings whose theatre has not confirmed them yet."""
    return await finish_waiting_sales(
        resources.sessions,
        resources.holds,
        resources.bookings.events,
        reminder_minutes=resources.settings.REMINDER_MINUTES,
        now=now or utc_now(),
    )


async def run_theatre_passes(
    resources: TheatreResources,
    stop: asyncio.Event,
    *,
    sync_interval: float | None = None,
    retry_interval: float = RETRY_INTERVAL_SECONDS,
) -> None:
    """Run both passes until `stop` is set (a sync at once, then every THEATRE_SYNC_SECONDS)."""
    if resources.holds.theatre is None or not resources.holds.theatre.systems:
        return
    sync_every = sync_interval or float(resources.settings.THEATRE_SYNC_SECONDS)
    loop = asyncio.get_running_loop()
    last_sync = float("-inf")
    while not stop.is_set():
        started = loop.time()
        if started - last_sync >= sync_every:
            last_sync = started
            await run_pass("theatre sync", sync_theatres(resources))
        await run_pass("theatre commits", finish_paid_unconfirmed(resources))
        await wait_next(stop, started, retry_interval)
