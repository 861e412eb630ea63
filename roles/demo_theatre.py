"""The demo's connected cinemas: one linked by its API, one by its database.

`main.py run` starts the sandbox theatre (a Theatre API v1 server with a box office) and points a
THEATRE_SYSTEMS entry called "northlight" at it; beside it, an embedded SQLite Theatre DB v1 database
(docs/theatre-db.md) under DATA_DIR is the "elbe" entry, with its till's box-office page. Their schedules
are synced, so the bot offers both chains' shows next to the local ones, and the box-office pages show
the same seats being sold at the tills. A THEATRE_SYSTEMS already configured is left alone (the demo then
uses the operator's theatres and starts no sandbox).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from pydantic import AnyHttpUrl, SecretStr

from booking_core.settings import TheatreSystemConfig
from roles.endpoints import LOOPBACK
from roles.ports import port_of
from roles.sandbox_server import STAND_IN_GRACE_SECONDS
from roles.settings import MarqueeSettings
from sandbox.theatre import SANDBOX_TOKEN, start_theatre_sandbox
from sandbox.theatre_db.page import box_office_app
from sandbox.theatre_db.seed import ELBE_CINEMAS, open_theatre_database

DEMO_SYSTEM = "northlight"
DEMO_DATABASE_SYSTEM = "elbe"


@dataclass(frozen=True)
class DemoTheatre:
    """The settings to run with (THEATRE_SYSTEMS pointing at the sandbox) and where its box office is."""

    settings: MarqueeSettings
    box_office_url: str | None  # None when THEATRE_SYSTEMS was configured already
    database_box_office_url: str | None = None


@asynccontextmanager
async def connect_demo_theatre(settings: MarqueeSettings) -> AsyncIterator[DemoTheatre]:
    """Run both demo theatres (their databases under DATA_DIR) while the demo runs: the sandbox theatre
    on loopback:DEMO_THEATRE_PORT, the database-linked cinema's box office one port above it."""
    if settings.THEATRE_SYSTEMS:
        yield DemoTheatre(settings, None)
        return
    port = settings.DEMO_THEATRE_PORT
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    with port_of("DEMO_THEATRE_PORT", LOOPBACK, port):
        _, base_url, sandbox = await start_theatre_sandbox(
            port=port, db_path=settings.DATA_DIR / "theatre.db", token=SANDBOX_TOKEN, host=LOOPBACK
        )
    async with AsyncExitStack() as stack:
        stack.push_async_callback(sandbox.close)
        database_url = f"sqlite+aiosqlite:///{settings.DATA_DIR / 'theatre-db.sqlite'}"
        database = await open_theatre_database(database_url, datetime.now(UTC), ELBE_CINEMAS)
        stack.push_async_callback(database.dispose)
        till = web.AppRunner(box_office_app(database), shutdown_timeout=STAND_IN_GRACE_SECONDS)
        await till.setup()
        stack.push_async_callback(till.cleanup)
        with port_of("DEMO_THEATRE_PORT", LOOPBACK, port + 1 if port else 0):
            await web.TCPSite(till, LOOPBACK, port + 1 if port else 0).start()
        systems = {
            DEMO_SYSTEM: TheatreSystemConfig(base_url=AnyHttpUrl(base_url), token=SecretStr(SANDBOX_TOKEN)),
            DEMO_DATABASE_SYSTEM: TheatreSystemConfig(database_url=SecretStr(database_url)),
        }
        yield DemoTheatre(
            settings.model_copy(update={"THEATRE_SYSTEMS": systems}),
            f"{base_url}/boxoffice",
            f"http://{LOOPBACK}:{till.addresses[0][1]}/boxoffice",
        )
