"""Bookings test fixtures: an event sink and a hold store on the test Redis."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.store import HoldStore


@pytest.fixture
def sink() -> CollectingSink:
    """The events the core published during the test."""
    return CollectingSink()


@pytest.fixture
def make_holds(
    redis: aioredis.Redis, sessions: SessionFactory, sink: CollectingSink
) -> Callable[..., HoldStore]:
    """Build a hold store over the test's Redis and database (hold_seconds and client may vary)."""

    def build(hold_seconds: int = 300, client: aioredis.Redis | None = None) -> HoldStore:
        return HoldStore(client or redis, SqlInventory(sessions), sink, hold_seconds=hold_seconds)

    return build


@pytest.fixture
def holds(make_holds: Callable[..., HoldStore]) -> HoldStore:
    """A hold store with the default five-minute holds."""
    return make_holds()
