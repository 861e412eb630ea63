"""One OS process racing for seats of a theatre database (a job of tests/support/racing.py's processes).

As Marquee ("marquee": lock, then commit) or as the cinema's till ("boxoffice": sell). It waits at the
start line so that every process starts at once, tries every pick of the job concurrently and answers
the outcomes: [[seats, "sold" or the refusal, ticket id or null], ...].
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from adapters.theatre.database import DatabaseTheatreSystem
from booking_core.theatre.port import TheatreError
from sandbox.theatre_db import boxoffice
from sandbox.theatre_db.boxoffice import BoxOfficeRefusal
from tests.support.racing import start_together


async def run(job: dict[str, Any]) -> list[list[Any]]:
    """Every pick at once; the outcomes in order."""
    url, show = job["database_url"], job["show_id"]
    theatre = DatabaseTheatreSystem(url, name="race", timeout=60.0, pool_size=4)
    till = create_async_engine(url)

    async def as_marquee(seats: list[str]) -> list[Any]:
        reference = f"booking-{uuid.uuid4().hex}"
        try:
            lock = await theatre.lock(show, seats, 300, reference, str(uuid.uuid4()))
            status = await theatre.seat_status(show)  # a payment takes a moment
            assert set(seats) <= status.locked
            amount = sum(job["prices"][seat] for seat in seats)
            sale = await theatre.commit(lock.lock_id, reference, amount, "EUR", str(uuid.uuid4()))
        except TheatreError as refused:
            return [seats, type(refused).__name__, None]
        return [seats, "sold", sale.ticket_id]

    async def as_till(seats: list[str]) -> list[Any]:
        try:
            ticket = await boxoffice.sell(till, show, seats)
        except BoxOfficeRefusal as refused:
            return [seats, refused.code, None]
        return [seats, "sold", ticket.ticket_id]

    attempt = as_marquee if job["role"] == "marquee" else as_till
    try:
        await start_together()
        return list(await asyncio.gather(*(attempt(seats) for seats in job["picks"])))
    finally:
        await theatre.close()
        await till.dispose()


def contend(job: dict[str, Any]) -> list[list[Any]]:
    """`run` the job on an event loop of its own."""
    return asyncio.run(run(job))
