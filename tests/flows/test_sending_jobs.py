"""Jobs sent together (`workers.registry.send_all`, a busy moment's webhooks): each reaches a worker once."""

from __future__ import annotations

import asyncio
import threading
from typing import cast

from tests.flows.worker_setup import BrokerPlan
from workers.context import WorkerContext
from workers.payments import PAYMENTS_QUEUE
from workers.registry import ActorSpec, register_actors, send_all
from workers.running import worker_in_background

JOBS = 60
ARRIVAL_SECONDS = 20.0


async def test_jobs_sent_together_each_reach_the_worker_once(broker: BrokerPlan) -> None:
    # Given an actor that notes what it is called with, and a worker consuming its queue
    arrived: list[int] = []
    lock, all_arrived = threading.Lock(), threading.Event()

    async def note_arrival(_context: WorkerContext, n: int) -> None:
        with lock:
            arrived.append(n)
            if len(arrived) == JOBS:
                all_arrived.set()

    async def no_context() -> WorkerContext:
        return cast(WorkerContext, None)  # the actor reads none

    dramatiq_broker = broker.build()
    [spec] = broker.specs([ActorSpec("note_arrival", note_arrival, queue=PAYMENTS_QUEUE, max_retries=0)])
    actor = register_actors(dramatiq_broker, [spec], no_context)["note_arrival"]

    # When JOBS jobs are sent together
    await asyncio.to_thread(send_all, actor, [(n,) for n in range(JOBS)])

    async with worker_in_background(dramatiq_broker, threads=2):
        await asyncio.to_thread(all_arrived.wait, ARRIVAL_SECONDS)
        await asyncio.sleep(0.3)  # long enough for a job delivered twice to arrive again

    # Then each was run once
    assert sorted(arrived) == list(range(JOBS))
