"""A worker process killed with SIGKILL in the middle of a payment job: the event still ends in one booking.

Two worker processes run the production actors; whichever takes the job first stalls in it, before or
after the booking is confirmed in SQL, and the test kills it with SIGKILL, so the message is never
acknowledged. The other gets it redelivered (RabbitMQ at once; Redis once the dead worker's heartbeat
is stale and the survivor's broker runs its maintenance) and completes it: exactly one booking, ticket
and set of outbox rows.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from booking_core.models import BookingStatus
from roles.redis_server import RedisEndpoint
from tests.flows.harness import (
    BrokerPlan,
    Flow,
    FlowOpener,
    broker_plan,
    outcomes,
    settled,
    subprocess_env,
    wait_until,
)
from tests.support.processes import stop_process

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_MS = 1000
ONE_SALE = {"seats": 2, "tickets": 1, "notifications": 4}


class WorkerProcess:
    """A `tests.flows.worker_process` subprocess and the files it reports through."""

    def __init__(self, flow: Flow, plan: BrokerPlan, folder: Path, name: str, stall: str | None):
        self.calls = folder / "calls.log"
        self.ready = folder / f"{name}.ready"
        stall_marker = folder / "stalled.marker"
        self.output = (folder / f"{name}.log").open("w")
        env = subprocess_env(
            flow.settings,
            plan,
            FLOW_CALLS_FILE=str(self.calls),
            FLOW_READY_FILE=str(self.ready),
            FLOW_STALL=stall or "",
            FLOW_STALL_MARKER=str(stall_marker),
            FLOW_HEARTBEAT_MS=str(HEARTBEAT_MS),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.flows.worker_process"],
            cwd=ROOT,
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )

    def calls_of(self, what: str) -> list[str]:
        """The payment event ids this process reported `what` (start, stalled, done) for."""
        if not self.calls.exists():
            return []
        prefix = f"{self.process.pid} {what} "
        return [
            line[len(prefix) :] for line in self.calls.read_text().splitlines() if line.startswith(prefix)
        ]

    async def wait_for_call(self, what: str, within: float = 20) -> list[str]:
        """Until this process reported `what` for some event; their ids."""

        async def reported() -> list[str]:
            return self.calls_of(what)

        return await wait_until(reported, within=within, what=f"worker {self.process.pid} to report {what}")

    async def wait_ready(self) -> None:
        """Until it consumes (fails at once if it died)."""

        async def ready() -> bool:
            assert self.process.poll() is None, f"worker exited: {self.log()}"
            return self.ready.exists()

        await wait_until(ready, within=30, what="the worker process to start")

    def log(self) -> str:
        """What the process printed."""
        self.output.flush()
        return Path(self.output.name).read_text()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Send `sig` and wait for the process to end."""
        stop_process(self.process, sig, within=30)
        self.output.close()


@pytest.fixture
async def flow(
    open_test_flow: FlowOpener, redis_endpoint: RedisEndpoint, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Flow, BrokerPlan]]:
    """The web side on the broker the case names; the workers are the subprocesses below."""
    plan = broker_plan(request.node.callspec.params["broker_kind"], redis_endpoint.url)
    try:
        async with open_test_flow(plan, worker=False) as flow:
            yield flow, plan
    finally:
        plan.delete_rabbitmq_queues()


@pytest.mark.parametrize(
    ("broker_kind", "stall"), [("redis", "after_confirming"), ("rabbitmq", "before_confirming")]
)
async def test_a_worker_killed_mid_job_still_ends_in_one_booking(
    flow: tuple[Flow, BrokerPlan], tmp_path: Path, broker_kind: str, stall: str
) -> None:
    web, plan = flow
    booked = await web.book(3001, web.show.seat_ids[:2])
    # Given two worker processes, the first to take the payment job stalling inside it
    workers = [WorkerProcess(web, plan, tmp_path, name, stall) for name in ("a", "b")]
    try:
        await asyncio.gather(*(worker.wait_ready() for worker in workers))
        # When the customer pays and one worker takes the job and stalls in it
        status, _page = await web.page_action(booked.checkout_id, "pay")
        assert status == 200
        (event_row,) = await web.event_rows()
        stalled = await wait_until(lambda: _stalled(workers), what="a worker to stall in the job")
        survivor = next(worker for worker in workers if worker is not stalled)
        expected = BookingStatus.PENDING_PAYMENT if stall == "before_confirming" else BookingStatus.CONFIRMED
        assert (await web.booking(booked.booking_id)).status == expected
        # And that worker is killed with SIGKILL, never acknowledging the message
        stalled.stop(signal.SIGKILL)
        assert stalled.process.returncode == -signal.SIGKILL
        # Then the other worker gets the job redelivered and completes it
        assert await survivor.wait_for_call("done", within=30) == [str(event_row.id)]
        # And the event ends in exactly one booking, one ticket and one set of outbox rows
        await settled(web, booked.booking_id, BookingStatus.CONFIRMED)
        assert await web.sale_counts(booked.booking_id) == ONE_SALE
        assert await web.sold_seat_rows() == 2
        assert await outcomes(web) == ["confirmed"]
    finally:
        for worker in workers:
            worker.stop()


async def _stalled(workers: list[WorkerProcess]) -> WorkerProcess | None:
    return next((worker for worker in workers if worker.calls_of("stalled")), None)
