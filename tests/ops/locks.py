"""A gate in PostgreSQL: hold bookings' row locks so that a worker's confirmation provably waits inside
its transaction, and see who waits (pg_stat_activity), before letting it go."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy import text

from booking_core.database import SessionFactory
from tests.ops.services import asyncpg_dsn


async def ports_waiting_on_locks(sessions: SessionFactory) -> list[int]:
    """The client ports of the connections now waiting for a lock in this database."""
    # A session of its own per look: pg_stat_activity is a snapshot taken once per transaction.
    async with sessions() as session:
        ports = await session.scalars(
            text(
                "SELECT client_port FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        )
        return [int(port) for port in ports]


@asynccontextmanager
async def rows_locked(database_url: str, *booking_ids: int) -> AsyncIterator[None]:
    """Hold the bookings' row locks, as a slow transaction elsewhere would, until the block ends."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with connection.transaction():
            await connection.execute(
                "SELECT id FROM bookings WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE", list(booking_ids)
            )
            yield
    finally:
        await connection.close()
