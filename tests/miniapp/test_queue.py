"""A premiere's on-sale queue on the Mini App's page: your place, and joining, through the real web app
over the same core calls as the bot's queue buttons; the workers' admission step gives the turns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.models import utc_now
from roles.redis_server import RedisEndpoint
from tests.bot.harness import BotWorld, open_world
from tests.factories import make_show
from tests.miniapp.client import PageClient
from workers.periodic import admit_queues_once

pytestmark = pytest.mark.timeout(60)

EARLY, LATE, NOBODY = 761, 762, 763
OPENS_IN = timedelta(seconds=2)


@pytest.fixture
async def one_turn_world(
    engine: AsyncEngine, database_url: str, redis_endpoint: RedisEndpoint, redis: object
) -> AsyncIterator[BotWorld]:
    """The `world`, its on-sale queues giving one turn at a time."""
    async with open_world(database_url, redis_endpoint.url, SALE_QUEUE_TURNS=1) as running:
        yield running


async def test_the_page_shows_your_place_in_the_queue_and_joins_it(one_turn_world: BotWorld) -> None:
    world = one_turn_world
    opens = utc_now() + OPENS_IN
    show = await make_show(world.core.sessions, rows=2, seats_per_row=6, on_sale_at=opens, sale_queue=True)
    early, late, nobody = (
        PageClient(world.http, world.base_url, show.show_id, user) for user in (EARLY, LATE, NOBODY)
    )
    for user in (EARLY, LATE, NOBODY):
        world.user(user)
    # Given the page of a premiere not yet on sale: it says there is a queue and you are not in it
    status, state = await early.get()
    assert status == 200, state
    queue = state["queue"]
    assert queue["queued"] is False and queue["phase"] is None and queue["over"] is False
    assert queue["on_sale_at"] == opens.replace(microsecond=opens.microsecond // 1000 * 1000).isoformat()
    # And a tap is refused in the bot's words
    status, refused = await early.hold("A1")
    assert status == 409 and refused["error"]["code"] == "not_on_sale_yet"
    # When two people join from the page (one of them twice)
    status, joined = await early.post("queue", {"count": 2})
    assert status == 200, joined
    assert joined["message"] == "You are in the queue."
    assert joined["queue"]["queued"] is True and joined["queue"]["position"] is None  # drawn at opening
    assert (await early.post("queue", {"count": 3}))[1]["message"] == "You keep your place in the queue."
    assert (await late.post("queue", {"count": 1}))[0] == 200
    # Then after the sale opens and the workers' step gives the one turn, one of them has it and the
    # other is told their place (next), with a wait estimate
    await asyncio.sleep((opens - utc_now()).total_seconds() + 0.1)
    assert await admit_queues_once(world.core.sessions, world.core.holds.sale_queue) == 1
    places = {user: (await page.get())[1]["queue"] for user, page in ((EARLY, early), (LATE, late))}
    turn = next(user for user, place in places.items() if place["your_turn"])
    waiting = places[LATE if turn == EARLY else EARLY]
    assert 0 < places[turn]["turn_seconds_left"] <= world.core.settings.SALE_QUEUE_TURN_SECONDS
    assert waiting["your_turn"] is False and waiting["position"] == 1 and waiting["wait_minutes"] is not None
    # And the one whose turn it is holds seats from the page; the other is refused until their turn
    first, second = (early, late) if turn == EARLY else (late, early)
    assert (await first.hold("A1"))[0] == 200
    status, refused = await second.hold("A2")
    assert status == 409 and refused["error"]["code"] == "not_your_turn"
    assert "Join the queue" in refused["error"]["message"]
    # And someone who never joined still sees the queue, not in it
    assert (await nobody.get())[1]["queue"]["queued"] is False


async def test_a_show_without_a_queue_has_none_and_refuses_joining(world: BotWorld) -> None:
    show = await make_show(world.core.sessions, rows=1, seats_per_row=4)
    world.user(EARLY)
    page = PageClient(world.http, world.base_url, show.show_id, EARLY)
    assert (await page.get())[1]["queue"] is None
    status, refused = await page.post("queue", {"count": 2})
    assert status == 409 and refused["error"]["code"] == "no_queue"
    assert refused["error"]["message"] == "This show has no queue: choose seats on its map."
    status, bad = await page.post("queue", {"count": 0})
    assert status == 400 and bad["error"]["code"] == "bad_request"
