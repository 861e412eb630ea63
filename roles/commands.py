"""One-shot commands: migrate, seed, catalog import, catalog sync, catalog on-sale."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis

from booking_core.catalogue import InvalidCatalogue, import_catalogue, load_catalogue_file, seed_demo
from booking_core.catalogue.on_sale import OnSaleRefused, set_on_sale
from booking_core.catalogue.queries import CatalogueQueries
from booking_core.database import SessionFactory, create_engine, create_session_factory
from booking_core.events import CollectingSink
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.store import HoldStore
from booking_core.models import utc_now
from roles.migrate import upgrade_to_head
from roles.redis_server import open_redis
from roles.settings import MarqueeSettings


def migrate(settings: MarqueeSettings) -> None:
    """Upgrade the database to the newest migration."""
    upgrade_to_head(settings.DATABASE_URL)
    print("database is at the newest migration")


@asynccontextmanager
async def _catalogue_access(
    settings: MarqueeSettings,
) -> AsyncIterator[tuple[SessionFactory, CatalogueQueries, aioredis.Redis]]:
    endpoint = await asyncio.to_thread(open_redis, settings.REDIS_URL, settings.DATA_DIR)
    engine = create_engine(settings.DATABASE_URL)
    redis = endpoint.client()
    sessions = create_session_factory(engine)
    try:
        yield sessions, CatalogueQueries(sessions, redis, settings.CATALOGUE_CACHE_SECONDS), redis
    finally:
        await redis.aclose()
        await engine.dispose()
        endpoint.stop()


async def seed(settings: MarqueeSettings) -> int:
    """Load the demo catalogue (shows for the next 7 days); a second run changes nothing."""
    async with _catalogue_access(settings) as (sessions, catalogue, _redis):
        report = await seed_demo(sessions, catalogue)
    print(f"demo catalogue: {report.summary()}")
    return 0


async def import_catalogue_file(settings: MarqueeSettings, path: Path) -> int:
    """Validate a catalogue file whole, then import all of it, or report every bad row and import nothing."""
    try:
        catalogue = load_catalogue_file(path)
    except OSError as error:
        print(f"cannot read {path}: {error.strerror}", file=sys.stderr)
        return 1
    except InvalidCatalogue as invalid:
        print(f"{path}: nothing imported, {len(invalid.problems)} problems:", file=sys.stderr)
        print(invalid.describe(), file=sys.stderr)
        return 1
    async with _catalogue_access(settings) as (sessions, queries, redis):
        try:
            report = await import_catalogue(sessions, catalogue, cache=queries)
        except InvalidCatalogue as invalid:
            print(f"{path}: nothing imported:\n{invalid.describe()}", file=sys.stderr)
            return 1
        await _forget_inventory(sessions, redis, report.sale_changed_show_ids)
    print(f"{path}: {report.summary()}")
    return 0


async def _forget_inventory(sessions: SessionFactory, redis: aioredis.Redis, show_ids: Sequence[int]) -> None:
    """Make holds read these shows' on-sale time and queue from SQL again."""
    holds = HoldStore(redis, SqlInventory(sessions), CollectingSink())
    for show_id in show_ids:
        await holds.forget_inventory(show_id)


async def set_show_on_sale(settings: MarqueeSettings, external_id: str, at: str | None, queue: bool) -> int:
    """Set a show's on-sale time (ISO 8601 with an offset; none: on sale now) and whether it queues."""
    try:
        on_sale_at = _instant(at) if at else None
    except ValueError as error:
        print(f"--at: {error}", file=sys.stderr)
        return 1
    async with _catalogue_access(settings) as (sessions, queries, redis):
        try:
            show_id = await set_on_sale(sessions, external_id, on_sale_at, queue, utc_now())
        except OnSaleRefused as refused:
            print(f"{external_id}: nothing changed: {refused}", file=sys.stderr)
            return 1
        await _forget_inventory(sessions, redis, [show_id])
        await queries.invalidate()
    when = on_sale_at.isoformat() if on_sale_at else "now"
    print(f"{external_id}: on sale {when}{', through a queue' if queue else ''}")
    return 0


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset: add one ('+02:00') or 'Z'")
    return moment.astimezone(UTC)


async def sync_theatres(settings: MarqueeSettings) -> int:
    """Sync every connected theatre's schedule into the catalogue now; 1 if any theatre failed."""
    if not settings.THEATRE_SYSTEMS:
        print("no connected theatre systems are configured (THEATRE_SYSTEMS)")
        return 0
    from booking_core.events import CollectingSink
    from roles.resources import open_core
    from roles.sandbox_server import paying_through, stripe_standin
    from workers.theatre import sync_theatres as sync_now

    if settings.is_demo and not settings.STRIPE_API_KEY:
        # The sync takes no payment (the workers pay refunds back): in a demo without Stripe keys the
        # adapter is pointed where `run` points it, the demo's Stripe stand-in, and never called here.
        settings = paying_through(settings, stripe_standin(settings))
    endpoint = await asyncio.to_thread(open_redis, settings.REDIS_URL, settings.DATA_DIR)
    try:
        # Refunds of withdrawn shows are recorded here and paid back by the workers' refund pass.
        async with open_core(settings, endpoint.url, CollectingSink()) as core:
            reports = await sync_now(core)
    finally:
        endpoint.stop()
    for report in reports:
        print(report.summary())  # a failed sync says so where a successful one does; the exit code tells
    return 0 if all(report.ok for report in reports) else 1
