"""A worker killed between sending a ticket and marking it sent does not lose the ticket.

The worker runs in its own process. Telegram's answer to sendPhoto is held back (the sandbox has
already shown the photo to the user), the process is killed with SIGKILL, and a fresh worker takes
over: the broker hands it the unacknowledged message (RabbitMQ at once, Redis once the dead worker's
heartbeat is stale) and the row, still pending, is sent. The Bot API has no idempotency key, so the
customer sees the ticket twice: at least once, never lost.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from roles.redis_server import RedisEndpoint
from tests.delivery_flow.conftest import both_brokers
from tests.delivery_flow.stand import Stand, poll
from workers.outbox_relay import relay_new

USER = 5501
PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest, redis_endpoint: RedisEndpoint) -> str:
    """Both broker kinds."""
    return both_brokers(request, redis_endpoint)


async def start_worker_process(stand: Stand) -> asyncio.subprocess.Process:
    """A worker process on the stand, once it says it is ready."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.delivery_flow.worker_process",
        cwd=PROJECT,
        env=stand.worker_environment(),
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
    assert line.strip() == b"ready", line
    return process


async def test_a_worker_killed_between_sending_and_marking_sent_does_not_lose_the_ticket(
    stand: Stand,
) -> None:
    telegram = stand.sandboxes.telegram
    booking_id = await stand.confirmed_booking(USER)
    worker = await start_worker_process(stand)
    try:
        # Given a worker that has sent the ticket but not yet heard back (so not marked it sent)
        stand.sandboxes.gate.close("sendPhoto")
        assert await relay_new(stand.ctx, booking_id) == 1
        await telegram.wait_for(USER, lambda chat: [m for m in chat if m.from_bot])
        await poll(lambda: stand.sandboxes.gate.held, lambda held: held == 1)

        # When it is killed there and then
        worker.kill()
        await worker.wait()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
        stand.sandboxes.gate.open()
    rows = await stand.rows(booking_id)
    assert (rows[("telegram", "ticket")].status, rows[("telegram", "ticket")].attempts) == ("pending", 0)

    # Then another worker delivers the ticket from the same message, and marks it sent
    async with stand.worker():
        rows = await stand.wait_for_rows(
            booking_id, lambda rows: rows[("telegram", "ticket")].status == "sent", timeout=30
        )

    photos = [m for m in telegram.chat(USER) if m.from_bot and m.kind == "photo"]
    assert len(photos) == 2  # the one sent before the crash, and the redelivery's
    assert photos[0].caption == photos[1].caption
    assert rows[("telegram", "ticket")].provider_message_id == str(photos[1].message_id)
    assert rows[("telegram", "ticket")].attempts == 1
