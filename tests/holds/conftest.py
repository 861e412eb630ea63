"""Fixtures of the seat-hold tests: a hold store on real Redis over a real SQL catalogue, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.store import HoldStore
from tests.support.clocks import HandClock


@pytest.fixture
def clock() -> HandClock:
    """Time that moves only when the test says so."""
    return HandClock()


@pytest.fixture
def sink() -> CollectingSink:
    """The events the core published, in order."""
    return CollectingSink()


@pytest.fixture
def inventory(sessions: SessionFactory) -> SqlInventory:
    """The SQL inventory and layout source."""
    return SqlInventory(sessions)


@pytest.fixture
async def store(
    redis: aioredis.Redis, inventory: SqlInventory, sink: CollectingSink, clock: HandClock
) -> AsyncIterator[HoldStore]:
    """A hold store with the fake clock: holds last 300 s, offers 120 s, 10 seats, 60 attempts a minute."""
    yield HoldStore(redis, inventory, sink, clock=clock)
