"""The webhook inbox: events of concurrent requests stored once each, in shared short transactions."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.database import SessionFactory, create_engine, create_session_factory
from booking_core.models import PaymentEvent as PaymentEventRow
from booking_core.payments.inbox import PaymentInbox
from booking_core.payments.port import PaymentEvent, PaymentEventKind
from tests.support.database import reset_schema

REQUESTS = 40
ARRIVING_LATER = 9


def _event(n: int) -> PaymentEvent:
    return PaymentEvent(
        provider="sandbox",
        event_id=f"evt_inbox_{n}",
        kind=PaymentEventKind.COMPLETED,
        checkout_id=f"cs_inbox_{n}",
        booking_id=None,
        amount_minor=1200,
        currency="eur",
        payment_id=None,
        raw=b"{}",
    )


async def test_concurrent_webhooks_are_stored_once_each_in_fewer_transactions_than_requests(
    engine: AsyncEngine, sessions: SessionFactory
) -> None:
    # Given one event stored already, and an inbox noting the jobs it sends
    sent: list[int] = []
    inbox = PaymentInbox(sessions, sent.extend)
    first = await inbox.store(_event(0), "{}")
    assert first is not None

    # When REQUESTS webhooks arrive at once: every event twice, and the stored one again
    numbers = [n for n in range(1, REQUESTS // 2 + 1) for _twice in range(2)] + [0]
    try:
        ids = await asyncio.gather(*(inbox.store(_event(n), "{}") for n in numbers))
    finally:
        await inbox.aclose()

    # Then each new event got one row id (its repeat and the old event: None), each stored once
    given: dict[int, list[Any]] = {}
    for n, row_id in zip(numbers, ids, strict=True):
        given.setdefault(n, []).append(row_id)
    assert given.pop(0) == [None]
    assert all(len([i for i in got if i is not None]) == 1 and None in got for got in given.values())
    async with sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(PaymentEventRow))
        rows = dict((await session.execute(select(PaymentEventRow.event_id, PaymentEventRow.id))).all())
        # (the events of one transaction share its arrival time)
        transactions = await session.scalar(
            select(func.count(func.distinct(PaymentEventRow.received_at))).where(PaymentEventRow.id != first)
        )
    assert stored == REQUESTS // 2 + 1
    assert {row_id for got in given.values() for row_id in got if row_id} == {
        rows[f"evt_inbox_{n}"] for n in given
    }
    # And the requests shared their transactions instead of taking one each
    assert 0 < (transactions or 0) < len(numbers) // 2
    # And each stored event's job was sent once (the one stored before, when it was stored)
    assert sorted(sent) == sorted(rows.values())


# Another process's writer on the same SQLite file, as a worker settling payments does it: transactions
# of HOLD_MS back to back, GAP_MS apart, each adding one row to `writer_turns`, for at most RUN_SECONDS.
WRITER = """
import sqlite3, sys, time
db, hold, gap, run = sys.argv[1], float(sys.argv[2]) / 1000, float(sys.argv[3]) / 1000, float(sys.argv[4])
connection = sqlite3.connect(db, isolation_level=None, timeout=10)
connection.execute("CREATE TABLE IF NOT EXISTS writer_turns (id INTEGER PRIMARY KEY)")
print("writing", flush=True)
until = time.monotonic() + run
while time.monotonic() < until:
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("INSERT INTO writer_turns DEFAULT VALUES")
    time.sleep(hold)
    connection.execute("COMMIT")
    time.sleep(gap)
"""
HOLD_MS, GAP_MS, RUN_SECONDS = 20, 2, 60
STORES = 20
# SQLite's own busy handler looks at the lock ever more rarely (every 100 ms after the first 100 ms),
# so a writer waiting in it sees a 2 ms gap between 20 ms transactions only now and then: the STORES
# waited 195 to 474 of them in all that way (five runs, up to 102 for one store); looking every few
# ms, 0 or 1 each (up to 4 for one store on a loaded machine). The bound is on the sum, so that
# one store held up by the machine does not fail the test.
MOST_TURNS_WAITED = 3 * STORES


async def test_intake_gets_the_sqlite_write_lock_between_another_writers_back_to_back_transactions(
    tmp_path: Path,
) -> None:
    # Given a webhook inbox on SQLite, and another process writing in transactions back to back
    database = tmp_path / "marquee.db"
    engine, inbox = await _inbox_on_file(database)
    writer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        str(database),
        str(HOLD_MS),
        str(GAP_MS),
        str(RUN_SECONDS),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert writer.stdout is not None and await writer.stdout.readline() == b"writing\n"
        # When webhooks arrive one after another meanwhile
        waited = []
        for n in range(STORES):
            before = _writer_turns(database)
            assert await inbox.store(_event(n), "{}") is not None
            waited.append(_writer_turns(database) - before)
        # Then the other writer was still writing (it did not finish before them)
        assert writer.returncode is None
    finally:
        if writer.returncode is None:
            writer.terminate()
        await asyncio.wait_for(writer.wait(), timeout=10)
        await inbox.aclose()
        await engine.dispose()
    # And they were stored within a few of its transactions each instead of queueing behind many
    assert sum(waited) <= MOST_TURNS_WAITED, waited


async def test_an_event_the_sqlite_file_cannot_take_fails_its_store_as_a_database_error(
    tmp_path: Path,
) -> None:
    # Given a webhook inbox on a SQLite file without the schema (no table to store into)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    inbox = PaymentInbox(create_session_factory(engine), _no_jobs)
    try:
        # When an event arrives, Then its store raises the database's error (the webhook answers 503)
        with pytest.raises(SQLAlchemyError, match="payment_events"):
            await inbox.store(_event(1), "{}")
    finally:
        await inbox.aclose()
        await engine.dispose()


async def test_events_arriving_while_the_write_lock_is_held_share_the_transaction_that_gets_it(
    tmp_path: Path,
) -> None:
    # Given a webhook inbox on a SQLite file, and another connection holding the write lock
    database = tmp_path / "marquee.db"
    engine, inbox = await _inbox_on_file(database)
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        # When one event arrives, and more arrive while the inbox waits for the lock
        first = asyncio.ensure_future(inbox.store(_event(0), "{}"))
        await asyncio.sleep(0.1)
        later = [asyncio.ensure_future(inbox.store(_event(n), "{}")) for n in range(1, ARRIVING_LATER + 1)]
        await asyncio.sleep(0.1)
        assert not first.done()
        holder.execute("ROLLBACK")
        ids = await asyncio.gather(first, *later)
    finally:
        holder.close()
        await inbox.aclose()
    # Then, once the lock is free, all of them are stored in the one transaction that got it
    assert None not in ids
    async with create_session_factory(engine)() as session:
        arrivals = await session.scalar(select(func.count(func.distinct(PaymentEventRow.received_at))))
    await engine.dispose()
    assert arrivals == 1


async def _inbox_on_file(database: Path) -> tuple[AsyncEngine, PaymentInbox]:
    """A new SQLite file with the schema, its engine, and an inbox on it that sends no jobs."""
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    await reset_schema(engine)
    return engine, PaymentInbox(create_session_factory(engine), _no_jobs)


def _no_jobs(_payment_event_ids: list[int]) -> None:
    """These tests look at the stores alone."""


def _writer_turns(database: Path) -> int:
    """How many transactions the other writer has committed (a WAL read: it waits for no writer)."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return int(connection.execute("SELECT count(*) FROM writer_turns").fetchone()[0])
