"""From outbox rows to delivery jobs: right after a sale, and periodically for anything left behind.

`relay_new` runs after the confirmation transaction commits (its caller calls it); `relay_due` runs
every RELAY_INTERVAL_SECONDS in the worker role. Both claim rows through `due_notifications`, which
leases them (their due time moves a lease ahead), so a row is enqueued once per lease: a row whose
delivery was lost (the process died between commit and enqueue, or a worker died for good) comes
back in the next pass after its lease, and a reminder comes up when it falls due.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from booking_core.models import utc_now
from booking_core.tickets.outbox import DueNotification, due_notifications
from workers.context import WorkerContext
from workers.delivery import ACTOR_FOR, enqueue_delivery, hand_back

log = logging.getLogger(__name__)

# How often the worker role should run `relay_due`: also how late a reminder may be.
RELAY_INTERVAL_SECONDS = 15
# Rows claimed per database round trip.
BATCH = 200


async def relay_new(ctx: WorkerContext, booking_id: int) -> int:
    """Enqueue the deliveries of a sale just committed; returns how many were enqueued."""
    due = await due_notifications(ctx.sessions, utc_now(), BATCH, booking_id=booking_id)
    return await _enqueue_all(ctx, due)


async def relay_due(ctx: WorkerContext, now: datetime) -> int:
    """Enqueue every row due by `now` and not leased (unsent, retry due, reminders); returns the count."""
    enqueued = 0
    while True:
        due = await due_notifications(ctx.sessions, now, BATCH)
        enqueued += await _enqueue_all(ctx, due)
        # Claimed rows are leased past `now`, so each pass takes new ones and the loop ends.
        if len(due) < BATCH:
            return enqueued


async def _enqueue_all(ctx: WorkerContext, due: list[DueNotification]) -> int:
    for n, row in enumerate(due):
        actor_name = ACTOR_FOR[(row.channel, row.kind)]
        try:
            # A fresh token per relay: retries and redeliveries of this message share it, another's don't.
            await enqueue_delivery(ctx, actor_name, row.id, secrets.token_hex(8))
        except Exception:
            # The broker is unreachable: the rows not enqueued are due at the next pass, not after a lease.
            await hand_back(ctx.sessions, [left.id for left in due[n:]])
            raise
    if due:
        log.info("outbox relay enqueued %s deliveries", len(due))
    return len(due)
