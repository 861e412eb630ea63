"""Workers read stored webhooks back together: the reads waiting for a turn go in one statement."""

from __future__ import annotations

import asyncio
from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.batches import Batches
from booking_core.database import SessionFactory
from booking_core.payments.inbox import store_payment_events, stored_payment_events
from tests.bookings.flow import statements_of
from tests.support.sales import provider_event

READERS = 12


async def test_stored_events_read_at_once_are_read_in_one_statement_each_its_own(
    engine: AsyncEngine, sessions: SessionFactory
) -> None:
    # Given READERS stored events, and the batches a worker process reads them in
    events = [provider_event(f"cs_stored_{n}", n, 1200) for n in range(READERS)]
    ids = await store_payment_events(sessions, [(paid, f'{{"n": {n}}}') for n, paid in enumerate(events)])
    reads = Batches(partial(stored_payment_events, sessions))

    # When READERS actors read them at once (and one reads an id nobody stored)
    with statements_of(engine) as sent:
        found = await asyncio.gather(*(reads.submit(row_id) for row_id in [*ids, 10**9] if row_id))

    # Then each gets its own event (the unknown one: None)
    assert [stored.payload if stored else None for stored in found] == [
        *(f'{{"n": {n}}}' for n in range(READERS)),
        None,
    ]
    # And the first alone, then all that waited meanwhile in one statement
    assert len([statement for statement in sent if statement.startswith("SELECT")]) == 2
