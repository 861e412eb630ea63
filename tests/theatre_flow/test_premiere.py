"""A premiere the connected theatre announces (its on-sale time and queue in the schedule it serves) is
sold here as such after a sync, and as an ordinary show once the theatre drops it."""

from __future__ import annotations

from datetime import timedelta

from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.sale_queue import Joined
from booking_core.holds.store import Hold
from booking_core.models import Show
from tests.theatre_flow.stand import Stand


async def test_a_premiere_the_theatre_announces_is_queued_here_until_it_says_otherwise(stand: Stand) -> None:
    show_id, theatre_show = await stand.show()
    store = stand.sandbox.store
    # Given the theatre makes one of its shows a premiere on sale in an hour, through a queue
    opens = (stand.clock.now + timedelta(hours=1)).replace(microsecond=0)
    await store.call(store.set_on_sale, theatre_show, opens, True)
    # when the schedule is synced,
    report = await stand.sync()
    assert report.ok and report.imported is not None and report.imported.changed
    # then our catalogue has its on-sale time and queue, nobody can hold a seat yet, and people queue.
    async with stand.core.sessions() as session:
        show = await session.get(Show, show_id)
        assert show is not None and (show.on_sale_at, show.sale_queue) == (opens, True)
    assert await stand.hold(show_id, 31, "A1") == HoldRefused(HoldRefusalReason.NOT_ON_SALE_YET)
    assert await stand.holds.sale_queue.join(show_id, 31, 2) == Joined(True, None)
    # When the theatre drops the premiere, the next sync sells the show as usual again.
    await store.call(store.set_on_sale, theatre_show, None, False)
    assert (await stand.sync()).ok
    assert isinstance(await stand.hold(show_id, 31, "A1"), Hold)
