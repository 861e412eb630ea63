"""The demo's connected cinema: the sandbox theatre (a Theatre API v1 server with a box office).

`main.py run` starts it beside the other sandboxes, points a THEATRE_SYSTEMS entry called "northlight"
at it and syncs its schedule, so the bot offers Northlight Cinemas' shows next to the local ones, and
a box-office page shows the same seats being sold at the till. A THEATRE_SYSTEMS already configured is
left alone (the demo then uses the operator's theatres and starts no sandbox).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from pydantic import AnyHttpUrl, SecretStr

from booking_core.settings import Settings, TheatreSystemConfig
from roles.endpoints import LOOPBACK
from roles.ports import port_of
from sandbox.theatre import SANDBOX_TOKEN, start_theatre_sandbox

DEMO_SYSTEM = "northlight"


@dataclass(frozen=True)
class DemoTheatre:
    """The settings to run with (THEATRE_SYSTEMS pointing at the sandbox) and where its box office is."""

    settings: Settings
    box_office_url: str | None  # None when THEATRE_SYSTEMS was configured already


@asynccontextmanager
async def connect_demo_theatre(settings: Settings) -> AsyncIterator[DemoTheatre]:
    """Run the sandbox theatre on loopback:DEMO_THEATRE_PORT (its database under DATA_DIR) during the demo."""
    if settings.THEATRE_SYSTEMS:
        yield DemoTheatre(settings, None)
        return
    port = settings.DEMO_THEATRE_PORT
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    with port_of("DEMO_THEATRE_PORT", LOOPBACK, port):
        _, base_url, sandbox = await start_theatre_sandbox(
            port=port, db_path=settings.DATA_DIR / "theatre.db", token=SANDBOX_TOKEN, host=LOOPBACK
        )
    config = TheatreSystemConfig(base_url=AnyHttpUrl(base_url), token=SecretStr(SANDBOX_TOKEN))
    try:
        yield DemoTheatre(
            settings.model_copy(update={"THEATRE_SYSTEMS": {DEMO_SYSTEM: config}}),
            f"{base_url}/boxoffice",
        )
    finally:
        await sandbox.close()
