"""The webhook inbox: events of concurrent requests stored once each, in shared short transactions."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.database import SessionFactory
from booking_core.models import PaymentEvent as PaymentEventRow
from booking_core.payments.inbox import PaymentInbox
from booking_core.payments.port import PaymentEvent, PaymentEventKind

REQUESTS = 40


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
    # Given one event stored already, and an inbox
    inbox = PaymentInbox(sessions)
    assert await inbox.store(_event(0), "{}") is not None
    transactions: list[int] = []
    event.listen(engine.sync_engine, "commit", lambda _conn: transactions.append(1))

    # When REQUESTS webhooks arrive at once: every event twice, and the stored one again
    numbers = [n for n in range(1, REQUESTS // 2 + 1) for _twice in range(2)] + [0]
    ids = await asyncio.gather(*(inbox.store(_event(n), "{}") for n in numbers))

    # Then each new event got one row id (its repeat and the old event: None), each stored once
    given: dict[int, list[Any]] = {}
    for n, row_id in zip(numbers, ids, strict=True):
        given.setdefault(n, []).append(row_id)
    assert given.pop(0) == [None]
    assert all(len([i for i in got if i is not None]) == 1 and None in got for got in given.values())
    async with sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(PaymentEventRow))
        rows = dict((await session.execute(select(PaymentEventRow.event_id, PaymentEventRow.id))).all())
    assert stored == REQUESTS // 2 + 1
    assert {row_id for got in given.values() for row_id in got if row_id} == {
        rows[f"evt_inbox_{n}"] for n in given
    }
    # And the requests shared their transactions instead of taking one each
    assert len(transactions) < len(numbers) // 2
