"""A Mini App tap costs one Redis round trip, answered with the hold alone; a poll sees the tap at once."""

from __future__ import annotations

import asyncio

import pytest

from roles.redis_server import RedisEndpoint
from tests.bot.harness import BotWorld
from tests.factories import make_show
from tests.holds.redis_stats import not_reminders, sent_commands
from tests.miniapp.client import PageClient
from webhooks.miniapp.snapshots import FRESH_SECONDS

pytestmark = pytest.mark.timeout(60)

ALICE, BOB = 741, 742


async def test_a_tap_is_one_redis_round_trip_and_the_next_poll_shows_it(
    counted_world: BotWorld, private_redis_endpoint: RedisEndpoint
) -> None:
    world = counted_world
    show = await make_show(world.core.sessions, rows=2, seats_per_row=6)
    world.user(ALICE)
    world.user(BOB)
    alice = PageClient(world.http, world.base_url, show.show_id, ALICE)
    bob = PageClient(world.http, world.base_url, show.show_id, BOB)
    # Given both pages open and a seat each (the show's inventory and hall loaded, each first hold counted)
    assert (await alice.get())[0] == (await bob.get())[0] == 200
    assert (await bob.hold("B6"))[0] == (await alice.hold("A1"))[0] == 200
    # When Alice taps two more seats, one after the other
    async with sent_commands(private_redis_endpoint.url) as sent:
        _, once = await alice.hold("A1", "A2")
        status, twice = await alice.hold("A1", "A2", "A3")
    # Then each tap was one script call (no seat map read; the bot's reminder loop aside), answered
    # with her hold
    assert [command.split(" ")[0] for command in not_reminders(sent)] == ["EVALSHA", "EVALSHA"], sent
    assert status == 200 and twice == {"hold": twice["hold"]} and twice["hold"]["seats"] == ["A1", "A2", "A3"]
    assert once["hold"]["seats"] == ["A1", "A2"]
    # And her page's poll right after shows her seats as hers, although the shared map it is laid over
    # was read before her taps (and Bob's); a moment later that map is read again, Bob's seat on it
    _, looked = await alice.get()
    assert looked["states"] == {"A1": "yours", "A2": "yours", "A3": "yours"}
    await asyncio.sleep(FRESH_SECONDS)
    _, looked = await alice.get()
    assert looked["states"] == {"A1": "yours", "A2": "yours", "A3": "yours", "B6": "held"}
    # And taking her seats out one by one to none is one script call a tap too; her next poll shows
    # the seats she let go as free at once
    async with sent_commands(private_redis_endpoint.url) as sent:
        for left in (["A1", "A2"], ["A1"], []):
            status, after = await alice.hold(*left)
            assert status == 200 and (after["hold"]["seats"] if after["hold"] else []) == left
    assert after["hold"] is None
    assert [command.split(" ")[0] for command in not_reminders(sent)] == ["EVALSHA"] * 3, sent
    _, looked = await alice.get()
    assert looked["states"] == {"B6": "held"} and looked["hold"] is None
