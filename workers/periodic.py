"""The payment side's periodic work, run by every worker process (any number may run it at once).

Every second: admit the next people of every running on-sale queue (`admit_queues_once`), free lapsed
holds (`HoldStore.sweep`, an atomic Lua pop) and mark lapsed bookings
expired (`SELECT ... FOR UPDATE SKIP LOCKED`), then ask a worker to close their provider checkouts.
Less often, the safety nets of the queue: payment events stored but never settled (the web process
died between its commit and its enqueue, or a job ran out of retries) are enqueued again, and
payments awaiting a refund get one asked for. A Redis key per event or refund keeps several worker
processes from asking for the same thing over and over. An event still unsettled after
MAX_PAYMENT_EVENT_PASSES passes (each with the actor's own retries) is parked, logged once and counted
in /metrics (`marquee_payment_events_parked`), instead of being enqueued again forever.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from booking_core.database import SessionFactory
from booking_core.holds.sale_queue import SaleQueue
from booking_core.holds.sale_queue_audit import record_step, shows_with_queues
from booking_core.models import utc_now
from booking_core.payments.inbox import PassVerdict, count_pass_or_park, unprocessed_payment_events
from workers.context import WorkerContext
from workers.jobs import DramatiqJobs
from workers.passes import run_pass, wait_next
from workers.payments import request_refunds

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 1.0
REQUEUE_INTERVAL_SECONDS = 15.0
# An event unprocessed this long lost its job (or its retries ran out): longer than a normal backlog.
REQUEUE_AFTER_SECONDS = 120.0
# The same lost event is enqueued again at most this often, whichever process notices it.
REQUEUE_GUARD_SECONDS = 600
REQUEUE_GUARD_KEY = "marquee:jobs:payment-event-requeued:{}"
# Passes of the safety net an event gets before it is parked: about an hour, REQUEUE_GUARD_SECONDS apart.
MAX_PAYMENT_EVENT_PASSES = 6
REFUND_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did."""

    holds_freed: int
    checkouts_to_expire: int


async def sweep_once(ctx: WorkerContext, jobs: DramatiqJobs, now: datetime | None = None) -> SweepReport:
    """Free lapsed holds, expire lapsed bookings and enqueue the closing of their provider checkouts."""
    freed = await ctx.holds.sweep(now)
    lapsed = await ctx.bookings.expire_lapsed(now)
    for checkout in lapsed:
        await jobs.expire_checkout(checkout)
    return SweepReport(holds_freed=freed, checkouts_to_expire=len(lapsed))


async def admit_queues_once(sessions: SessionFactory, queues: SaleQueue, now: datetime | None = None) -> int:
    """One admission step of every running on-sale queue, its audit rows written; people admitted."""
    admitted = 0
    for show_id in await shows_with_queues(sessions, now or utc_now()):
        try:
            report = await queues.admit(show_id)
            await record_step(sessions, show_id, report)
            if report.seed is not None:
                await queues.logged(show_id, report.seed)
        except Exception:
            # The next pass tries again; the other shows' queues go on meanwhile.
            log.exception("on-sale queue of show %s: admission step failed", show_id)
            continue
        admitted += len(report.admitted)
    return admitted


async def requeue_lost_payment_events(
    ctx: WorkerContext,
    jobs: DramatiqJobs,
    *,
    older_than: timedelta = timedelta(seconds=REQUEUE_AFTER_SECONDS),
    now: datetime | None = None,
    max_passes: int = MAX_PAYMENT_EVENT_PASSES,
) -> int:
    """Enqueue stored events still unprocessed after `older_than` (parking those out of passes); how many."""
    received_before = (now or utc_now()) - older_than
    enqueued = 0
    for payment_event_id in await unprocessed_payment_events(ctx.sessions, received_before):
        key = REQUEUE_GUARD_KEY.format(payment_event_id)
        if not await ctx.redis.set(key, "1", nx=True, ex=REQUEUE_GUARD_SECONDS):
            continue
        verdict = await count_pass_or_park(ctx.sessions, payment_event_id, max_passes)
        if verdict == PassVerdict.SETTLED:
            continue
        if verdict == PassVerdict.PARKED:
            log.error(
                "payment event %s failed %s passes of retries: parked for a person to look at "
                "(its last error is on its payment_events row)",
                payment_event_id,
                max_passes,
            )
            continue
        log.info("payment event %s was never settled: enqueuing it again", payment_event_id)
        await jobs.payment_event_received(payment_event_id)
        enqueued += 1
    return enqueued


async def run_periodic_tasks(
    ctx: WorkerContext,
    stop: asyncio.Event,
    jobs: DramatiqJobs | None = None,
    *,
    sweep_interval: float = SWEEP_INTERVAL_SECONDS,
    requeue_interval: float = REQUEUE_INTERVAL_SECONDS,
    requeue_after: timedelta = timedelta(seconds=REQUEUE_AFTER_SECONDS),
    refund_interval: float = REFUND_INTERVAL_SECONDS,
) -> None:
    """Run the passes until `stop` is set; a failing pass is logged and tried again next time."""
    jobs = jobs or ctx.jobs
    if jobs is None:
        raise ValueError("run_periodic_tasks needs jobs (or ctx.jobs) to enqueue work")
    loop = asyncio.get_running_loop()
    last_requeue = last_refunds = float("-inf")
    while not stop.is_set():
        started = loop.time()
        await run_pass("sweep", sweep_once(ctx, jobs))
        await run_pass("sale queues", admit_queues_once(ctx.sessions, ctx.holds.sale_queue))
        if started - last_requeue >= requeue_interval:
            last_requeue = started
            await run_pass("requeue", requeue_lost_payment_events(ctx, jobs, older_than=requeue_after))
        if started - last_refunds >= refund_interval:
            last_refunds = started
            await run_pass("refunds", request_refunds(ctx, jobs))
        await wait_next(stop, started, sweep_interval)
