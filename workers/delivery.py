"""Delivering the outbox: one Dramatiq actor per channel (Telegram, SMS, email) and the show reminder.

A message names one outbox row and a delivery token: the relay's, kept by dramatiq's retries and by
a broker's redelivery of the same message. Every actor
1. skips a row that is no longer pending, so a redelivered message never re-sends what was marked sent;
2. takes the row's send lock in Redis for its token: two deliveries of one row (the relay's and the
   periodic pass's) cannot send at once, while a redelivery of a crashed delivery goes ahead;
3. sends, notes the provider's message id in Redis, then marks the row sent with it in SQL. A row
   whose marking failed (the database was down) is marked on its next try from that note, not re-sent.
A worker that dies between sending and noting leaves the row pending and its message unacknowledged:
the broker hands the message out again (and the periodic relay re-enqueues rows whose lease lapsed),
so a ticket is never lost. The price is a possible duplicate, since neither the Bot API, Twilio's
Messages API nor SMTP has an idempotency key: at least once, never zero times.
When Redis or the broker fails under a delivery, the row is handed back to the periodic relay at once:
the broker may have lost the message's retry with it, and the row's lease would keep it for minutes.
A transient error is counted on the row and retried with backoff, MAX_ATTEMPTS tries in all across
retries and relays, then the row fails; a permanent one (an invalid number, a bot the user blocked, a
mailbox that does not exist) fails the row at once. Any other exception of a sender (a row it cannot
even build a message from) counts as a transient try too, so a poison row ends failed, never loops.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

import dramatiq
import redis.asyncio as aioredis
from dramatiq.errors import BrokerConnectionError
from redis.exceptions import RedisError
from sqlalchemy import select, update

from adapters.sms_twilio import status_callback_url
from booking_core import metrics
from booking_core.bookings.service import notice_view, ticket_view
from booking_core.database import SessionFactory
from booking_core.models import Notification, NotificationStatus, utc_now
from booking_core.tickets.content import TicketView, sms_text
from booking_core.tickets.email import email_message
from booking_core.tickets.outbox import (
    DEFAULT_LEASE,
    Channel,
    DueNotification,
    NotificationKind,
    mark_failed,
    mark_sent,
    record_attempt,
)
from booking_core.tickets.senders import PermanentDeliveryError, TransientDeliveryError
from workers.context import WorkerContext
from workers.registry import ActorFunction, ActorSpec, send
from workers.telegram_tickets import (
    FloodWait,
    SendLater,
    send_reminder,
    send_show_notice_message,
    send_ticket,
)

log = logging.getLogger(__name__)

# Actor names: the message format between processes, so keep them stable.
SEND_TELEGRAM_TICKET = "send_telegram_ticket"
SEND_SMS_TICKET = "send_sms_ticket"
SEND_EMAIL_TICKET = "send_email_ticket"
SEND_SHOW_REMINDER = "send_show_reminder"
SEND_SHOW_NOTICE = "send_show_notice"
DELIVERY_QUEUE = "delivery"

# Tries of one row in all, whichever message makes them; then it is failed for good.
MAX_ATTEMPTS = 8
# Longer than any one send may take (the senders' own timeouts are 10-30 s) plus a pacing wait.
SEND_LOCK_MS = 120_000
# How long a sent row's provider message id is kept in Redis: far longer than its retries and relays.
SENT_NOTE_SECONDS = 24 * 3600

Sender = Callable[[WorkerContext, DueNotification, TicketView], Awaitable[str]]


async def send_telegram_ticket(ctx: WorkerContext, notification_id: int, token: str) -> None:
    """Send a ticket row to its Telegram chat: QR photo, ticket caption, "My tickets" button."""
    await _deliver(ctx, SEND_TELEGRAM_TICKET, notification_id, token, _telegram_ticket)


async def send_sms_ticket(ctx: WorkerContext, notification_id: int, token: str) -> None:
    """Send a ticket row as an SMS of at most two segments, with a status callback to our webhook."""
    await _deliver(ctx, SEND_SMS_TICKET, notification_id, token, _sms_ticket)


async def send_email_ticket(ctx: WorkerContext, notification_id: int, token: str) -> None:
    """Send a ticket row as an email: text and HTML, the QR code inline, the show as an .ics."""
    await _deliver(ctx, SEND_EMAIL_TICKET, notification_id, token, _email_ticket)


async def send_show_reminder(ctx: WorkerContext, notification_id: int, token: str) -> None:
    """Send a reminder row to its Telegram chat (the relay enqueues it when due, before the show)."""
    await _deliver(ctx, SEND_SHOW_REMINDER, notification_id, token, _telegram_reminder)


async def send_show_notice(ctx: WorkerContext, notification_id: int, token: str) -> None:
    """Tell a customer in Telegram that the cinema withdrew or moved their show (see show_changes)."""
    await _deliver(ctx, SEND_SHOW_NOTICE, notification_id, token, _telegram_notice)


def _delivery_actor(
    name: str, fn: ActorFunction, *, backoff_ms: tuple[int, int], time_limit_ms: int = 60_000
) -> ActorSpec:
    """A delivery actor's retry policy: MAX_ATTEMPTS tries with `backoff_ms` (least, most) between them;
    a permanent error is recorded by the actor and never retried."""
    return ActorSpec(
        name,
        fn,
        queue=DELIVERY_QUEUE,
        max_retries=MAX_ATTEMPTS,
        min_backoff_ms=backoff_ms[0],
        max_backoff_ms=backoff_ms[1],
        throws=(PermanentDeliveryError,),
        time_limit_ms=time_limit_ms,
    )


# Backoff stays well under the outbox lease (5 minutes) and RabbitMQ's consumer timeout (30 minutes).
DELIVERY_ACTORS: tuple[ActorSpec, ...] = (
    _delivery_actor(SEND_TELEGRAM_TICKET, send_telegram_ticket, backoff_ms=(1_000, 120_000)),
    _delivery_actor(SEND_SMS_TICKET, send_sms_ticket, backoff_ms=(2_000, 120_000)),
    _delivery_actor(SEND_EMAIL_TICKET, send_email_ticket, backoff_ms=(2_000, 120_000), time_limit_ms=90_000),
    _delivery_actor(SEND_SHOW_REMINDER, send_show_reminder, backoff_ms=(1_000, 60_000)),
    _delivery_actor(SEND_SHOW_NOTICE, send_show_notice, backoff_ms=(1_000, 60_000)),
)

# Which actor delivers which kind of outbox row.
ACTOR_FOR: dict[tuple[Channel, NotificationKind], str] = {
    (Channel.TELEGRAM, NotificationKind.TICKET): SEND_TELEGRAM_TICKET,
    (Channel.SMS, NotificationKind.TICKET): SEND_SMS_TICKET,
    (Channel.EMAIL, NotificationKind.TICKET): SEND_EMAIL_TICKET,
    (Channel.TELEGRAM, NotificationKind.REMINDER): SEND_SHOW_REMINDER,
    (Channel.TELEGRAM, NotificationKind.SHOW_WITHDRAWN): SEND_SHOW_NOTICE,
    (Channel.TELEGRAM, NotificationKind.SHOW_MOVED): SEND_SHOW_NOTICE,
}
# Rows about a show rather than a standing ticket: sent for a booking whose ticket is void too.
_NOTICE_KINDS = frozenset({NotificationKind.SHOW_WITHDRAWN, NotificationKind.SHOW_MOVED})


async def enqueue_delivery(
    ctx: WorkerContext, actor_name: str, notification_id: int, token: str, *, delay_ms: int | None = None
) -> None:
    """Put one row's delivery on the queue (the actor must be declared on ctx.broker)."""
    if ctx.broker is None:
        raise RuntimeError("WorkerContext.broker is not set: outbox deliveries cannot be enqueued")
    await send(ctx.broker.get_actor(actor_name), notification_id, token, delay_ms=delay_ms)


async def _deliver(
    ctx: WorkerContext, actor_name: str, notification_id: int, token: str, sender: Sender
) -> None:
    row = await _pending_row(ctx, notification_id)
    if row is None:
        log.debug("outbox row %s is not pending (or gone): nothing to send", notification_id)
        metrics.NOTIFICATIONS.labels(_channel_of(actor_name), "skipped").inc()
        return
    try:
        await _send_once(ctx, actor_name, row, token, sender)
    except (RedisError, BrokerConnectionError):
        # The retry of this message goes through the broker, which may be the Redis that just failed.
        await hand_back(ctx.sessions, [row.id])
        raise


async def _send_once(
    ctx: WorkerContext, actor_name: str, row: DueNotification, token: str, sender: Sender
) -> None:
    notification_id, channel = row.id, row.channel.value
    if not await _take_send_lock(ctx.redis, notification_id, token):
        # Another delivery is sending this row now; if it dies, the row's lease brings it back.
        log.info("outbox row %s is being sent by another delivery", notification_id)
        metrics.NOTIFICATIONS.labels(channel, "busy").inc()
        return
    message_id = await _sent_before(ctx.redis, notification_id)
    if message_id is None:
        read_view = notice_view if row.kind in _NOTICE_KINDS else ticket_view
        view = await read_view(ctx.sessions, row.booking_id)
        if view is None:
            await mark_failed(
                ctx.sessions, notification_id, "no standing ticket: the booking is not confirmed"
            )
            metrics.NOTIFICATIONS.labels(channel, "failed").inc()
            return
        try:
            message_id = await sender(ctx, row, view)
        except SendLater as later:
            await enqueue_delivery(ctx, actor_name, notification_id, token, delay_ms=later.delay_ms)
            metrics.NOTIFICATIONS.labels(channel, "paced").inc()
            return
        except PermanentDeliveryError as error:
            log.warning("outbox row %s (%s) failed for good: %s", notification_id, channel, error)
            await _fail(ctx, row, str(error))
            return
        except TransientDeliveryError as error:
            await _retry_or_give_up(ctx, row, error)
            return
        except (RedisError, BrokerConnectionError):
            raise  # our own infrastructure failed, not this row: handed back by _deliver
        except Exception as error:
            # A row that breaks the sender (bad data, a bug) must not loop forever: it counts as a try.
            unexpected = TransientDeliveryError("unexpected", f"{type(error).__name__}: {error}")
            await _retry_or_give_up(ctx, row, unexpected, cause=error)
            return
        await _note_sent(ctx.redis, notification_id, message_id)
    else:
        log.info("outbox row %s was sent before its marking failed: marking it now", notification_id)
    if not await mark_sent(ctx.sessions, notification_id, utc_now(), message_id):
        log.info("outbox row %s moved on while it was being sent (e.g. a status callback)", notification_id)
    metrics.NOTIFICATIONS.labels(channel, "sent").inc()


async def hand_back(sessions: SessionFactory, notification_ids: Sequence[int]) -> None:
    """Make pending rows due now, so the next relay pass enqueues them (best effort: logged on failure)."""
    try:
        async with sessions() as session, session.begin():
            await session.execute(
                update(Notification)
                .where(
                    Notification.id.in_(notification_ids), Notification.status == NotificationStatus.PENDING
                )
                .values(due_at=utc_now())
                .execution_options(synchronize_session=False)
            )
    except Exception:
        log.warning(
            "outbox rows %s not handed back: their lease brings them back", notification_ids, exc_info=True
        )


def _sent_key(notification_id: int) -> str:
    return f"outbox:sent:{notification_id}"


async def _sent_before(redis: aioredis.Redis, notification_id: int) -> str | None:
    noted = await redis.get(_sent_key(notification_id))
    if noted is None:
        return None
    return noted.decode() if isinstance(noted, bytes) else str(noted)


async def _note_sent(redis: aioredis.Redis, notification_id: int, message_id: str) -> None:
    try:
        await redis.set(_sent_key(notification_id), message_id, ex=SENT_NOTE_SECONDS)
    except RedisError:
        # The message is out; SQL is told next. Only a failure of both could lead to a second send.
        log.warning("outbox row %s sent but not noted in Redis", notification_id, exc_info=True)


async def _retry_or_give_up(
    ctx: WorkerContext, row: DueNotification, error: TransientDeliveryError, *, cause: Exception | None = None
) -> None:
    channel = row.channel.value
    if row.attempts + 1 >= MAX_ATTEMPTS:
        # Logged once, with the traceback of an unexpected error; earlier tries are logged at INFO.
        log.warning(
            "outbox row %s (%s) failed after %s attempts: %s",
            row.id,
            channel,
            MAX_ATTEMPTS,
            error,
            exc_info=cause,
        )
        await _fail(ctx, row, f"gave up after {MAX_ATTEMPTS} attempts: {error}")
        return
    log.info("outbox row %s (%s) will be retried: %s", row.id, channel, error)
    # Pushing the row's lease on keeps the periodic relay from starting a second delivery meanwhile.
    await record_attempt(ctx.sessions, row.id, str(error), utc_now() + DEFAULT_LEASE)
    metrics.NOTIFICATIONS.labels(channel, "retried").inc()
    delay_ms = error.retry_after_ms if isinstance(error, FloodWait) else None
    raise dramatiq.Retry(str(error), delay=delay_ms)


async def _fail(ctx: WorkerContext, row: DueNotification, error: str) -> None:
    # The try that failed counts as an attempt, like a retried one; then the row is final.
    await record_attempt(ctx.sessions, row.id, error, utc_now() + DEFAULT_LEASE)
    await mark_failed(ctx.sessions, row.id, error)
    metrics.NOTIFICATIONS.labels(row.channel.value, "failed").inc()


def _channel_of(actor_name: str) -> str:
    return next(channel for (channel, _), name in ACTOR_FOR.items() if name == actor_name).value


async def _pending_row(ctx: WorkerContext, notification_id: int) -> DueNotification | None:
    async with ctx.sessions() as session:
        row = await session.scalar(select(Notification).where(Notification.id == notification_id))
    if row is None or row.status != NotificationStatus.PENDING:
        return None
    return DueNotification.of(row)


async def _take_send_lock(redis: aioredis.Redis, notification_id: int, token: str) -> bool:
    key = f"outbox:sending:{notification_id}"
    for _ in range(2):
        if await redis.set(key, token, nx=True, px=SEND_LOCK_MS):
            return True
        holder = await redis.get(key)
        if holder is None:
            continue  # it lapsed between the two calls: try to take it again
        if (holder.decode() if isinstance(holder, bytes) else holder) == token:
            await redis.pexpire(key, SEND_LOCK_MS)  # our own delivery again (a retry or a redelivery)
            return True
        return False
    return False


async def _telegram_ticket(ctx: WorkerContext, row: DueNotification, view: TicketView) -> str:
    paid = ctx.telegram_paid_broadcast
    return await send_ticket(ctx.telegram, ctx.redis, int(row.destination), view, paid_broadcast=paid)


async def _telegram_reminder(ctx: WorkerContext, row: DueNotification, view: TicketView) -> str:
    return await send_reminder(ctx.telegram, ctx.redis, int(row.destination), view)


async def _telegram_notice(ctx: WorkerContext, row: DueNotification, view: TicketView) -> str:
    return await send_show_notice_message(
        ctx.telegram,
        ctx.redis,
        int(row.destination),
        row.booking_id,
        view,
        withdrawn=row.kind == NotificationKind.SHOW_WITHDRAWN,
    )


async def _sms_ticket(ctx: WorkerContext, row: DueNotification, view: TicketView) -> str:
    callback = (
        status_callback_url(ctx.settings.public_base_url, row.callback_ref) if row.callback_ref else None
    )
    sent = await ctx.sms.send(row.destination, sms_text(view), callback)
    return sent.message_id


async def _email_ticket(ctx: WorkerContext, row: DueNotification, view: TicketView) -> str:
    return await ctx.mail.send(email_message(view, ctx.settings.MAIL_FROM, row.destination))
