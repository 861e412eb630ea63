"""The opening draw is fair: over many openings by the real script, every order of four people comes out
about equally often (a chi-square test), and the seed recorded reproduces the order drawn."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.sale_queue import shuffled
from booking_core.holds.store import HoldStore
from booking_core.redis_keys import ShowKeys
from tests.factories import make_show
from tests.support.clocks import HandClock

PEOPLE = ("1", "2", "3", "4")
RUNS = 2400  # 100 expected per order
# The chi-square statistic over the 24 orders (23 degrees of freedom) exceeds this with probability 0.001.
CHI_SQUARE_999 = 49.73


# The draw is the script's alone (SQL only lays out the hall): 2,400 openings on one database.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_every_order_of_the_early_joiners_is_equally_likely(
    redis: aioredis.Redis, sessions: SessionFactory, clock: HandClock
) -> None:
    opens = datetime.fromtimestamp(clock.now, tz=UTC) + timedelta(seconds=60)
    show = await make_show(sessions, rows=1, seats_per_row=8, on_sale_at=opens, sale_queue=True)
    store = HoldStore(redis, SqlInventory(sessions), CollectingSink(), clock=clock, queue_turns=1)
    counts: Counter[tuple[str, ...]] = Counter()
    for _run in range(RUNS):
        clock.now = opens.timestamp() - 1
        await redis.delete(*ShowKeys(show.show_id).sale_queue())
        for user in PEOPLE:
            await store.sale_queue.join(show.show_id, int(user), 1)
        clock.now = opens.timestamp()
        report = await store.sale_queue.admit(show.show_id)
        assert report.opened is not None and report.seed is not None
        assert list(report.opened) == shuffled(list(PEOPLE), report.seed)
        counts[report.opened] += 1
    orders = list(itertools.permutations(PEOPLE))
    assert set(counts) <= set(orders)
    expected = RUNS / len(orders)
    chi_square = sum((counts[order] - expected) ** 2 / expected for order in orders)
    assert chi_square < CHI_SQUARE_999, f"orders drawn unevenly: chi-square {chi_square:.1f}, {counts}"
