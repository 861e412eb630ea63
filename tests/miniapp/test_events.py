"""The Mini App's live seat states by server-sent events, through the real web app: a change by anyone
is pushed to every open page, the reader's own seats marked as theirs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from tests.bot.harness import BotWorld
from tests.factories import make_show
from tests.miniapp.client import PageClient
from webhooks.miniapp.pushes import SeatPushes
from webhooks.miniapp.show_state import ShowHall

pytestmark = pytest.mark.timeout(60)

ALICE, BOB = 771, 772


async def next_states(events: aiohttp.ClientResponse, wanted: dict[str, str]) -> dict[str, Any]:
    """Read pushes until one shows the reader `wanted` (its states with `yours` marked); that push."""
    async for line in events.content:
        if line.startswith(b"data: "):
            pushed = json.loads(line[6:])
            if {**pushed["states"], **dict.fromkeys(pushed["yours"], "yours")} == wanted:
                return dict(pushed)
    raise AssertionError("the stream ended")


async def test_a_change_is_pushed_to_every_open_page_with_its_own_seats_marked(world: BotWorld) -> None:
    show = await make_show(world.core.sessions, rows=2, seats_per_row=6)
    world.user(ALICE)
    world.user(BOB)
    alice = PageClient(world.http, world.base_url, show.show_id, ALICE)
    bob = PageClient(world.http, world.base_url, show.show_id, BOB)
    url = f"{world.base_url}/app/api/shows/{show.show_id}/events"
    headers = {"Authorization": f"tma {alice.init_data}"}
    async with world.http.get(url, headers=headers) as events:
        # Given Alice's page watching the show: the first push is the hall as it is, all free
        assert events.status == 200 and events.headers["Content-Type"] == "text/event-stream"
        first = await asyncio.wait_for(next_states(events, {}), 10)
        assert first == {"yours": [], "states": {}, "waiting": 0, "closed": False, "unavailable": None}
        # When Bob holds two seats, then Alice one: each change is pushed, hers marked as hers
        assert (await bob.hold("B1", "B2"))[0] == 200
        await asyncio.wait_for(next_states(events, {"B1": "held", "B2": "held"}), 10)
        assert (await alice.hold("A3"))[0] == 200
        mine = await asyncio.wait_for(next_states(events, {"A3": "yours", "B1": "held", "B2": "held"}), 10)
        assert mine["yours"] == ["A3"] and mine["states"]["A3"] == "held"  # as anyone sees it
        # And Bob letting his go is pushed too
        assert (await bob.hold())[0] == 200
        await asyncio.wait_for(next_states(events, {"A3": "yours"}), 10)


async def test_a_stream_needs_genuine_init_data(world: BotWorld) -> None:
    show = await make_show(world.core.sessions, rows=1, seats_per_row=4)
    url = f"{world.base_url}/app/api/shows/{show.show_id}/events"
    async with world.http.get(url, headers={"Authorization": "tma user=1&hash=00"}) as events:
        assert events.status == 401
        assert (await events.json())["error"]["code"] == "unauthorized"


async def test_closing_the_pushes_ends_every_stream_and_reader(world: BotWorld) -> None:
    show = await make_show(world.core.sessions, rows=1, seats_per_row=4)
    catalogue = world.core.catalogue
    details, layout = await catalogue.show_details(show.show_id), await catalogue.hall_layout(show.show_id)
    assert details is not None and layout is not None
    pushes = SeatPushes(world.core.holds, every=0.05)
    # Given two pages watching a show (one reader task reads its map for both)
    watches = [pushes.watch(ShowHall(details, layout)) for _ in range(2)]
    firsts = [await anext(watch) for watch in watches]
    assert all(first is not None and first.states == {} for first in firsts)
    # When the web app shuts down, every stream ends
    await pushes.close()
    for watch in watches:
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(watch), 5)
