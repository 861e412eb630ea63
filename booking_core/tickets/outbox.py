"""The outbox: messages a sale owes the customer, written in the sale's own transaction.

`add_ticket_notifications` runs inside the confirmation transaction, so a ticket is never sold
without its messages nor announced without its sale. Delivery workers then claim due rows with
`due_notifications` and report back with `mark_sent` / `record_attempt` / `mark_failed` (errors are
stored with phone numbers and addresses masked: booking_core.personal_data). A row's
status only moves forward (pending → sent → delivered, or → failed): reports that arrive late or
twice cannot undo a later state.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking_core.database import SessionFactory
from booking_core.models import Booking, BookingStatus, Customer, Notification, NotificationStatus
from booking_core.personal_data import mask_personal_data


class Channel(StrEnum):
    """Where a notification goes."""

    TELEGRAM = "telegram"
    SMS = "sms"
    EMAIL = "email"


class NotificationKind(StrEnum):
    """What a notification says."""

    TICKET = "ticket"
    REMINDER = "reminder"
    SHOW_WITHDRAWN = "show_withdrawn"  # the cinema withdrew the show: the booking is cancelled and refunded
    SHOW_MOVED = "show_moved"  # the show starts at another time: the booking stands, cancelling refunds it


# Statuses a row may move to from each status; delivered and failed are final.
_EARLIER: dict[NotificationStatus, tuple[NotificationStatus, ...]] = {
    NotificationStatus.PENDING: (),
    NotificationStatus.SENT: (NotificationStatus.PENDING,),
    NotificationStatus.DELIVERED: (NotificationStatus.PENDING, NotificationStatus.SENT),
    NotificationStatus.FAILED: (NotificationStatus.PENDING, NotificationStatus.SENT),
}

DEFAULT_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class DueNotification:
    """A claimed outbox row: what a delivery worker needs to send it (content comes from the booking)."""

    id: int
    booking_id: int
    channel: Channel
    kind: NotificationKind
    destination: str
    attempts: int
    callback_ref: str | None = None  # an SMS row's name in its status callback URL

    @classmethod
    def of(cls, row: Notification) -> DueNotification:
        """What a worker needs of an outbox row."""
        return cls(
            id=row.id,
            booking_id=row.booking_id,
            channel=Channel(row.channel),
            kind=NotificationKind(row.kind),
            destination=row.destination,
            attempts=row.attempts,
            callback_ref=row.callback_ref,
        )


@dataclass(frozen=True)
class TicketNotifications:
    """The messages a sold ticket owes: its booking, the customer, when the show starts, when it was
    sold and how long before the show the reminder goes."""

    booking_id: int
    customer: Customer
    show_starts_at: datetime
    now: datetime
    reminder_minutes: int


async def add_ticket_notifications(session: AsyncSession, tickets: Sequence[TicketNotifications]) -> None:
    """Write (not commit) one ticket row per channel each customer has, plus the Telegram reminder."""
    rows = [row for ticket in tickets for row in _ticket_rows(ticket)]
    if rows:
        # One INSERT of every row: the ORM's unit of work would send one per row, to learn ids nobody
        # needs. Executed with the rows as parameters, not as multi-row VALUES: compiled once.
        await session.execute(insert(Notification), rows)


def _ticket_rows(ticket: TicketNotifications) -> list[dict[str, object]]:
    booking_id, customer, now = ticket.booking_id, ticket.customer, ticket.now
    rows = [_values(booking_id, Channel.TELEGRAM, NotificationKind.TICKET, str(customer.chat_id), now)]
    if customer.phone:
        rows.append(_values(booking_id, Channel.SMS, NotificationKind.TICKET, customer.phone, now))
    if customer.email:
        rows.append(_values(booking_id, Channel.EMAIL, NotificationKind.TICKET, customer.email, now))
    remind_at = ticket.show_starts_at - timedelta(minutes=ticket.reminder_minutes)
    # A reminder due already would arrive together with the ticket itself: it would remind of nothing.
    if ticket.reminder_minutes > 0 and remind_at > now:
        rows.append(
            _values(booking_id, Channel.TELEGRAM, NotificationKind.REMINDER, str(customer.chat_id), remind_at)
        )
    return rows


async def add_show_notice(
    session: AsyncSession, booking: Booking, kind: NotificationKind, now: datetime
) -> None:
    """In the caller's transaction, a Telegram notice of a withdrawn or moved show, due now.

    A booking has one notice of each kind: a show moved a second time sends the same row again.
    """
    existing = await session.scalar(
        select(Notification)
        .where(
            Notification.booking_id == booking.id,
            Notification.channel == Channel.TELEGRAM,
            Notification.kind == kind,
        )
        .with_for_update()
    )
    if existing is None:
        session.add(_row(booking.id, Channel.TELEGRAM, kind, str(booking.customer.chat_id), now))
        return
    _send_again(existing, now)


async def move_reminder(
    session: AsyncSession, booking_id: int, old_start: datetime, new_start: datetime, now: datetime
) -> None:
    """In the caller's transaction, move the booking's show reminder as far as the show moved.

    A reminder sent already goes out again before the new time; one that would be due already is dropped.
    """
    reminder = await session.scalar(
        select(Notification)
        .where(Notification.booking_id == booking_id, Notification.kind == NotificationKind.REMINDER)
        .with_for_update()
    )
    if reminder is None:
        return
    pending = reminder.status == NotificationStatus.PENDING
    remind_at = (reminder.due_at if pending else reminder.sent_at or reminder.due_at) + (
        new_start - old_start
    )
    if remind_at > now:
        _send_again(reminder, remind_at)
    elif pending:
        reminder.status, reminder.last_error = NotificationStatus.FAILED, "show moved: too late to remind"


def _send_again(row: Notification, due_at: datetime) -> None:
    """A row made pending afresh (a new message with the same purpose), due at `due_at`."""
    row.status, row.due_at, row.attempts = NotificationStatus.PENDING, due_at, 0
    row.sent_at = row.provider_message_id = row.last_error = None


async def cancel_pending_notifications(session: AsyncSession, booking_id: int, reason: str) -> int:
    """In the caller's transaction, fail the booking's unsent rows (a cancelled show needs no reminder)."""
    result = await session.execute(
        update(Notification)
        .where(Notification.booking_id == booking_id, Notification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.FAILED, last_error=reason)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


async def due_notifications(
    sessions: SessionFactory,
    now: datetime,
    limit: int,
    *,
    lease: timedelta = DEFAULT_LEASE,
    booking_id: int | None = None,
) -> list[DueNotification]:
    """Claim up to `limit` rows due by `now` (of one booking, if given) for `lease`; unsent ones come back."""
    async with sessions() as session, session.begin():
        query = (
            select(Notification)
            .join(Booking, Booking.id == Notification.booking_id)
            .where(
                Notification.status == NotificationStatus.PENDING,
                Notification.due_at <= now,
                # Only a standing sale has a ticket to send or a show to remind of; a withdrawn show's
                # notice goes to a booking that no longer stands.
                or_(
                    Booking.status == BookingStatus.CONFIRMED,
                    Notification.kind == NotificationKind.SHOW_WITHDRAWN,
                ),
            )
            .order_by(Notification.due_at, Notification.id)
            .limit(limit)
            # Several relays may poll at once: each takes rows the others have not locked.
            .with_for_update(of=Notification, skip_locked=True)
        )
        if booking_id is not None:  # the relay right after a sale claims that sale's rows only
            query = query.where(Notification.booking_id == booking_id)
        rows = list(await session.scalars(query))
        for row in rows:
            row.due_at = now + lease
        return [DueNotification.of(row) for row in rows]


async def mark_sent(
    sessions: SessionFactory, notification_id: int, now: datetime, provider_message_id: str | None = None
) -> bool:
    """The provider accepted the message; counts the attempt. False when the row had moved on already."""
    return await _advance(
        sessions,
        Notification.id == notification_id,
        NotificationStatus.SENT,
        sent_at=now,
        provider_message_id=provider_message_id,
        attempts=Notification.attempts + 1,
    )


async def mark_sms_sent(
    sessions: SessionFactory, callback_ref: str, now: datetime, provider_message_id: str
) -> bool:
    """`mark_sent` for the SMS row a status callback names by its reference; False for no such SMS row."""
    return await _advance(
        sessions,
        (Notification.callback_ref == callback_ref) & (Notification.channel == Channel.SMS),
        NotificationStatus.SENT,
        sent_at=now,
        provider_message_id=provider_message_id,
        attempts=Notification.attempts + 1,
    )


async def mark_delivered(sessions: SessionFactory, notification_id: int) -> bool:
    """The provider reports the message delivered. False when the row was delivered or failed already."""
    return await _advance(sessions, Notification.id == notification_id, NotificationStatus.DELIVERED)


async def mark_failed(sessions: SessionFactory, notification_id: int, error: str) -> bool:
    """Give up on the row (permanent error, retries spent); False when delivered or failed already."""
    return await _advance(
        sessions,
        Notification.id == notification_id,
        NotificationStatus.FAILED,
        last_error=mask_personal_data(error),
    )


async def record_attempt(
    sessions: SessionFactory, notification_id: int, error: str, retry_at: datetime
) -> bool:
    """A failed try worth repeating: count it, keep the error, make the row due again at `retry_at`."""
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.status == NotificationStatus.PENDING)
            .values(attempts=Notification.attempts + 1, last_error=mask_personal_data(error), due_at=retry_at)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1


async def record_delivery_report(
    sessions: SessionFactory, provider_message_id: str, status: NotificationStatus, error: str | None = None
) -> bool:
    """Twilio's status callback for an SMS row by message id; applied only when it moves forward."""
    values: dict[str, object] = {} if error is None else {"last_error": mask_personal_data(error)}
    which = (Notification.provider_message_id == provider_message_id) & (Notification.channel == Channel.SMS)
    return await _advance(sessions, which, status, **values)


async def _advance(
    sessions: SessionFactory, which: object, status: NotificationStatus, **values: object
) -> bool:
    # One conditional UPDATE, so concurrent reports cannot interleave a read and a write.
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(Notification)
            .where(which, Notification.status.in_(_EARLIER[status]))  # type: ignore[arg-type]
            .values(status=status, **values)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) > 0


async def failed_notification_counts(sessions: SessionFactory) -> dict[str, int]:
    """How many rows failed for good, by channel (every channel named, zero included)."""
    async with sessions() as session:
        rows = await session.execute(
            select(Notification.channel, func.count(Notification.id))
            .where(Notification.status == NotificationStatus.FAILED)
            .group_by(Notification.channel)
        )
        counts = {channel.value: 0 for channel in Channel}
        counts.update({str(channel): int(count) for channel, count in rows})
        return counts


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _row(
    booking_id: int, channel: Channel, kind: NotificationKind, destination: str, due_at: datetime
) -> Notification:
    return Notification(**_values(booking_id, channel, kind, destination, due_at))


def _values(
    booking_id: int, channel: Channel, kind: NotificationKind, destination: str, due_at: datetime
) -> dict[str, object]:
    return {
        "booking_id": booking_id,
        "channel": channel,
        "kind": kind,
        "destination": destination,
        "status": NotificationStatus.PENDING,
        "due_at": due_at,
        "attempts": 0,
        # 128 random bits: a status callback cannot be aimed at another row by counting.
        "callback_ref": secrets.token_urlsafe(16) if channel == Channel.SMS else None,
    }
