"""A connected cinema's show through the Mini App: the seats are locked at its theatre as the bot locks
them, and while its own system is down the page is told so and nothing changes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.models import Show, utc_now
from roles.redis_server import RedisEndpoint
from sandbox.theatre import SANDBOX_TOKEN, start_theatre_sandbox
from tests.bot.harness import open_world
from tests.miniapp.client import PageClient
from workers.theatre import sync_theatres

pytestmark = pytest.mark.timeout(90)
STATUS_SECONDS = 0.1


async def test_a_connected_show_holds_at_its_theatre_and_says_when_it_is_down(
    engine: AsyncEngine, database_url: str, redis_endpoint: RedisEndpoint, redis: object
) -> None:
    _, _, theatre = await start_theatre_sandbox()
    systems = {"northlight": {"base_url": theatre.base_url, "token": SANDBOX_TOKEN}}
    try:
        async with open_world(
            database_url, redis_endpoint.url, THEATRE_SYSTEMS=systems, THEATRE_STATUS_SECONDS=STATUS_SECONDS
        ) as world:
            await sync_theatres(world.core)
            async with world.core.sessions() as session:
                show_id = await session.scalar(
                    select(Show.id)
                    .where(
                        Show.external_id.like("northlight:%"), Show.starts_at > utc_now() + timedelta(days=1)
                    )
                    .order_by(Show.starts_at)
                    .limit(1)
                )
            assert show_id is not None
            world.user(781)
            fan = PageClient(world.http, world.base_url, show_id, 781)
            status, state = await fan.get()
            assert status == 200, state
            first, second, third = (seat["seat"] for seat in state["rows"][0]["seats"][:3])
            # Given the page holds two seats: they are ours and locked at the theatre
            status, held = await fan.hold(first, second)
            assert status == 200, held
            assert held["hold"]["seats"] == [first, second]
            assert (await fan.get())[1]["states"] == {first: "yours", second: "yours"}
            hold = await world.core.holds.current_hold(show_id, 781)
            connected = await world.core.holds.theatre.connected(show_id)
            assert hold is not None and connected is not None
            claims = await theatre.store.call(theatre.store.claims, connected.theatre_show_id)
            assert {label: kind for label, (kind, _id) in claims.items()} == {first: "lock", second: "lock"}
            # When the theatre's system goes down, a tap is refused in words and the hold stays as it was
            await theatre.stop()
            await asyncio.sleep(STATUS_SECONDS * 3)
            status, refused = await fan.hold(first, second, third)
            assert status == 503, refused
            assert refused["error"]["code"] == "theatre_unavailable"
            assert "temporarily unavailable" in refused["error"]["message"]
            assert await world.core.holds.current_hold(show_id, 781) == hold
            _, seen = await fan.get()
            assert seen["unavailable"] == "theatre_unavailable"
    finally:
        await theatre.close()
