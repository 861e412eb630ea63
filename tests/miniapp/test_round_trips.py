"""A Mini App tap costs one Redis round trip: the hold script's reply carries the fresh seat map."""

from __future__ import annotations

import pytest

from tests.bot.harness import BotWorld
from tests.factories import make_show
from tests.holds.redis_stats import round_trips
from tests.miniapp.client import PageClient

pytestmark = pytest.mark.timeout(60)

ALICE, BOB = 741, 742


async def test_a_tap_is_one_redis_round_trip_answered_with_the_fresh_map(counted_world: BotWorld) -> None:
    world = counted_world
    show = await make_show(world.core.sessions, rows=2, seats_per_row=6)
    world.user(ALICE)
    world.user(BOB)
    alice = PageClient(world.http, world.base_url, show.show_id, ALICE)
    bob = PageClient(world.http, world.base_url, show.show_id, BOB)
    # Given both pages open and a seat each (the show's inventory and hall loaded, each first hold counted)
    assert (await alice.get())[0] == (await bob.get())[0] == 200
    assert (await bob.hold("B6"))[0] == (await alice.hold("A1"))[0] == 200
    redis = world.core.redis
    await redis.config_resetstat()
    # When Alice taps two more seats, one after the other
    _, once = await alice.hold("A1", "A2")
    status, twice = await alice.hold("A1", "A2", "A3")
    # Then each tap was one script call, and its answer is the map as it is now, Bob's seat included
    assert await round_trips(redis) == 2
    assert status == 200 and twice["hold"]["seats"] == ["A1", "A2", "A3"]
    assert twice["states"] == {"A1": "yours", "A2": "yours", "A3": "yours", "B6": "held"}
    assert once["states"]["A2"] == "yours"
    # And taking her seats out one by one to none is one script call a tap too
    await redis.config_resetstat()
    for left in (["A1", "A2"], ["A1"], []):
        status, after = await alice.hold(*left)
        assert status == 200 and sorted(after["states"]) == sorted([*left, "B6"])
    assert after["hold"] is None and await round_trips(redis) == 3
