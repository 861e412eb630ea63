"""A worker process for the kill test: the production payment actors, with a job that can be made to stall.

Run as `python -m tests.flows.worker_process` with the settings in the environment (see
harness.subprocess_env) and:
    FLOW_CALLS_FILE   each run of process_payment_event appends "<pid> start|stalled|done <id>" here
    FLOW_READY_FILE   touched once the worker consumes
    FLOW_STALL        "before_confirming" or "after_confirming": a run stalls there (test only), if it is
                      the first of all processes to create FLOW_STALL_MARKER
    FLOW_HEARTBEAT_MS the Redis broker's heartbeat timeout (low, so a killed worker's job returns soon)
It stops gracefully on SIGTERM; the test kills it with SIGKILL to play a crash.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import threading
from pathlib import Path

from booking_core.events import CollectingSink
from roles.settings import load_settings
from tests.flows.worker_setup import BrokerPlan, payment_actors
from workers.context import WorkerContext
from workers.jobs import PROCESS_PAYMENT_EVENT
from workers.payments import PAYMENT_ACTORS, process_payment_event
from workers.registry import ActorFunction
from workers.running import running_worker

STALL_SECONDS = 3600


def observed(calls: Path, stall: str | None, marker: Path) -> ActorFunction:
    """process_payment_event, logging each run to `calls`; the first run anywhere stalls where asked."""

    def note(what: str, payment_event_id: int) -> None:
        with calls.open("a") as log:
            log.write(f"{os.getpid()} {what} {payment_event_id}\n")

    def first_anywhere() -> bool:
        try:
            marker.touch(exist_ok=False)
        except FileExistsError:
            return False
        return True

    async def process(ctx: WorkerContext, payment_event_id: int) -> None:
        note("start", payment_event_id)
        stall_here = stall if stall and first_anywhere() else None
        if stall_here == "before_confirming":
            note("stalled", payment_event_id)
            await asyncio.sleep(STALL_SECONDS)
        await process_payment_event(ctx, payment_event_id)
        if stall_here == "after_confirming":
            note("stalled", payment_event_id)
            await asyncio.sleep(STALL_SECONDS)
        note("done", payment_event_id)

    return process


def main() -> None:
    """Consume the payment queues until SIGTERM."""
    env = os.environ
    settings = load_settings()
    plan = BrokerPlan.from_env(env)
    broker = plan.build(heartbeat_timeout_ms=int(env["FLOW_HEARTBEAT_MS"]), maintenance_chance=1.0)
    process = observed(
        Path(env["FLOW_CALLS_FILE"]), env.get("FLOW_STALL") or None, Path(env["FLOW_STALL_MARKER"])
    )
    specs = [
        dataclasses.replace(spec, fn=process) if spec.name == PROCESS_PAYMENT_EVENT else spec
        for spec in plan.specs(PAYMENT_ACTORS)
    ]
    actors, _jobs = payment_actors(settings, broker, specs, CollectingSink())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with running_worker(broker, threads=2):
        Path(env["FLOW_READY_FILE"]).touch()
        stop.wait()
        actors.close()


if __name__ == "__main__":
    main()
