"""Ticket delivery across a database or Redis outage, step by step: nothing lost, nothing sent twice.

The ops tests around whole processes hit these moments by chance; here they are hit on purpose, with
the delivery stand of tests/delivery_flow (real sandboxes, core and broker) on servers of the test's
own that it stops: the PostgreSQL goes down between a ticket's sending and its marking; Redis (the
broker too) goes down under a delivery and under the outbox relay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from booking_core.models import Notification, utc_now
from tests.delivery_flow.stand import Stand, open_stand, poll
from tests.ops.services import PrivatePostgres, PrivateRedis
from workers.delivery import send_telegram_ticket
from workers.outbox_relay import relay_due, relay_new

pytestmark = pytest.mark.timeout(60)

USER = 850_001
TOKEN = "relay-token-1"


@pytest.fixture
async def stand_on_private_servers(
    private_postgres: PrivatePostgres, private_redis: PrivateRedis
) -> AsyncIterator[Stand]:
    """The delivery stand on a PostgreSQL and a Redis (also the broker) that the test may stop."""
    async with open_stand(private_postgres.url, private_redis.url, private_redis.url) as stand:
        yield stand


async def telegram_row(stand: Stand, booking_id: int) -> Notification:
    """The booking's Telegram ticket row as it is now."""
    return (await stand.rows(booking_id))[("telegram", "ticket")]


async def test_a_ticket_sent_just_before_the_database_went_down_is_marked_not_sent_again(
    stand_on_private_servers: Stand, private_postgres: PrivatePostgres
) -> None:
    stand = stand_on_private_servers
    telegram = stand.sandboxes.telegram
    booking_id = await stand.confirmed_booking(USER)
    row = await telegram_row(stand, booking_id)
    # Given a delivery whose photo has reached the chat, Telegram's answer still on its way
    stand.sandboxes.gate.close("sendPhoto")
    delivery = asyncio.create_task(send_telegram_ticket(stand.ctx, row.id, TOKEN))
    await poll(lambda: stand.sandboxes.gate.held, lambda held: held == 1)
    # When PostgreSQL goes down before the row is marked sent
    await asyncio.to_thread(private_postgres.stop)
    stand.sandboxes.gate.open()
    # Then the delivery fails (its message will be retried)
    with pytest.raises((SQLAlchemyError, OSError)):
        await delivery
    # When the database is back and the message's retry runs
    await asyncio.to_thread(private_postgres.start)
    await send_telegram_ticket(stand.ctx, row.id, TOKEN)
    # Then the row is marked sent with the first message, and the customer has the ticket once
    photos = [message for message in telegram.chat(USER) if message.from_bot and message.kind == "photo"]
    assert len(photos) == 1
    marked = await telegram_row(stand, booking_id)
    assert (marked.status, marked.provider_message_id) == ("sent", str(photos[0].message_id))


async def test_a_delivery_redis_failed_under_is_handed_back_to_the_relay_at_once(
    stand_on_private_servers: Stand, private_redis: PrivateRedis
) -> None:
    stand = stand_on_private_servers
    booking_id = await stand.confirmed_booking(USER)
    # Given a sale's ticket row relayed (leased for minutes) to a delivery
    assert await relay_new(stand.ctx, booking_id) == 1
    row = await telegram_row(stand, booking_id)
    assert row.due_at > utc_now()
    # When Redis, the broker with it, is down while the delivery runs
    private_redis.stop()
    with pytest.raises(RedisError):
        await send_telegram_ticket(stand.ctx, row.id, TOKEN)
    # Then the row is due again now, not when its lease ends: the retry may have gone down with Redis
    assert (await telegram_row(stand, booking_id)).due_at <= utc_now()
    # ... and a relay pass while the broker is still down leaves it due too
    with pytest.raises(RedisError):
        await relay_due(stand.ctx, utc_now())
    assert (await telegram_row(stand, booking_id)).due_at <= utc_now()
    # When Redis is back, the next relay pass enqueues it again
    private_redis.start()
    assert await relay_due(stand.ctx, utc_now()) == 1
