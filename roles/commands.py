"""One-shot commands: migrate, seed, catalog import, catalog sync."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from booking_core.catalogue import InvalidCatalogue, import_catalogue, load_catalogue_file, seed_demo
from booking_core.catalogue.queries import CatalogueQueries
from booking_core.database import SessionFactory, create_engine, create_session_factory
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
) -> AsyncIterator[tuple[SessionFactory, CatalogueQueries]]:
    endpoint = await asyncio.to_thread(open_redis, settings.REDIS_URL, settings.DATA_DIR)
    engine = create_engine(settings.DATABASE_URL)
    redis = endpoint.client()
    sessions = create_session_factory(engine)
    try:
        yield sessions, CatalogueQueries(sessions, redis, settings.CATALOGUE_CACHE_SECONDS)
    finally:
        await redis.aclose()
        await engine.dispose()
        endpoint.stop()


async def seed(settings: MarqueeSettings) -> int:
    """Load the demo catalogue (shows for the next 7 days); a second run changes nothing."""
    async with _catalogue_access(settings) as (sessions, catalogue):
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
    async with _catalogue_access(settings) as (sessions, queries):
        try:
            report = await import_catalogue(sessions, catalogue, cache=queries)
        except InvalidCatalogue as invalid:
            print(f"{path}: nothing imported:\n{invalid.describe()}", file=sys.stderr)
            return 1
    print(f"{path}: {report.summary()}")
    return 0


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
