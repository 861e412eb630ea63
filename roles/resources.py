"""The composition root: settings in, engines, clients, the booking core and the adapters out.

Every role (and the end-to-end tests) builds its collaborators here, so the wiring that runs in
production is the wiring that is tested. Clients are opened on the event loop that will use them and
closed on the way out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import dramatiq
import redis.asyncio as aioredis
import telegram
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.mail_smtp import SmtpMailSender
from adapters.sms_twilio import TwilioSmsSender
from adapters.theatre.systems import check_theatre_databases, theatre_systems_from_settings
from booking_core.bookings.service import Bookings
from booking_core.catalogue.queries import CatalogueQueries
from booking_core.database import SessionFactory, create_engine, create_session_factory
from booking_core.events import EventSink
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.store import HoldStore
from booking_core.holds.theatre_holds import TheatreHolds
from booking_core.payments.port import PaymentProvider
from booking_core.theatre.shows import ConnectedShows
from roles.endpoints import Endpoints
from roles.payment_provider import open_payment_provider
from roles.redis_server import redis_client
from roles.settings import MarqueeSettings
from workers.context import WorkerContext


@dataclass
class Core:
    """The booking core bound to its database and Redis."""

    settings: MarqueeSettings
    engine: AsyncEngine
    sessions: SessionFactory
    redis: aioredis.Redis
    catalogue: CatalogueQueries
    holds: HoldStore
    bookings: Bookings
    payment_provider: PaymentProvider


@asynccontextmanager
async def open_core(settings: MarqueeSettings, redis_url: str, events: EventSink) -> AsyncIterator[Core]:
    """Open the database, Redis, the hold store, bookings and the payment provider; close them after."""
    async with AsyncExitStack() as stack:
        engine = create_engine(settings.DATABASE_URL)
        stack.push_async_callback(engine.dispose)
        sessions = create_session_factory(engine)
        # Catalogue and inventory reads never write: on SQLite they need not queue behind writers.
        read_engine = create_engine(settings.DATABASE_URL, read_only=True)
        stack.push_async_callback(read_engine.dispose)
        reads = create_session_factory(read_engine)
        redis = redis_client(redis_url)
        stack.push_async_callback(redis.aclose)
        timeout = settings.THEATRE_TIMEOUT_SECONDS
        theatres = theatre_systems_from_settings(settings, timeout=timeout)
        for theatre in theatres.values():
            stack.push_async_callback(theatre.close)
        await check_theatre_databases(theatres.values())
        # Always present, even with no THEATRE_SYSTEMS: a connected cinema's show is then unavailable,
        # never sold as if it were local.
        theatre_holds = TheatreHolds(
            redis,
            ConnectedShows(sessions),
            theatres,
            status_seconds=settings.THEATRE_STATUS_SECONDS,
            commit_deadline=timedelta(minutes=settings.THEATRE_COMMIT_DEADLINE_MINUTES),
        )
        stack.push_async_callback(theatre_holds.close)
        holds = HoldStore(
            redis,
            SqlInventory(reads),
            events,
            hold_seconds=settings.HOLD_SECONDS,
            offer_seconds=settings.OFFER_SECONDS,
            max_seats=settings.MAX_SEATS_PER_BOOKING,
            attempts_per_minute=settings.HOLD_ATTEMPTS_PER_MINUTE,
            max_hold_seconds=settings.HOLD_MAX_SECONDS,
            max_shows=settings.MAX_SHOWS_HELD,
            theatre=theatre_holds,
            queue_turns=settings.SALE_QUEUE_TURNS,
            queue_turn_seconds=settings.SALE_QUEUE_TURN_SECONDS,
            queue_turns_per_user=settings.SALE_QUEUE_TURNS_PER_USER,
            queue_admissions_per_second=settings.SALE_QUEUE_ADMISSIONS_PER_SECOND,
        )
        provider = open_payment_provider(settings)
        stack.push_async_callback(provider.aclose)
        yield Core(
            settings=settings,
            engine=engine,
            sessions=sessions,
            redis=redis,
            catalogue=CatalogueQueries(reads, redis, settings.CATALOGUE_CACHE_SECONDS),
            holds=holds,
            bookings=Bookings.from_settings(settings, sessions, holds, events, reads=reads),
            payment_provider=provider,
        )


def telegram_bot(token: str, api_base_url: str) -> telegram.Bot:
    """A Bot API client for sending messages outside the bot's own Application (workers)."""
    return telegram.Bot(token, base_url=f"{api_base_url.rstrip('/')}/bot")


@asynccontextmanager
async def open_worker_context(
    core: Core, endpoints: Endpoints, broker: dramatiq.Broker | None = None
) -> AsyncIterator[WorkerContext]:
    """The actors' collaborators: the core plus the Telegram, SMS and email senders of `endpoints`."""
    bot = telegram_bot(endpoints.telegram_token, endpoints.telegram_api_base_url)
    sid, token, sender = endpoints.twilio_credentials or ("", "", "")
    sms = TwilioSmsSender(sid, token, sender, endpoints.twilio_api_base_url)
    async with bot:
        try:
            yield WorkerContext(
                settings=core.settings,
                sessions=core.sessions,
                redis=core.redis,
                holds=core.holds,
                bookings=core.bookings,
                payment_providers={core.payment_provider.name: core.payment_provider},
                telegram=bot,
                sms=sms,
                mail=SmtpMailSender(endpoints.smtp_url),
                broker=broker,
                telegram_paid_broadcast=core.settings.TELEGRAM_ALLOW_PAID_BROADCAST,
            )
        finally:
            await sms.close()
