"""What a catalogue import that withdraws or moves a local cinema's show does to its bookings.

Runs inside the import's own transaction (booking_core.catalogue.importer), so the schedule and the
bookings change together or not at all; the customers are told through the outbox, written in the same
transaction and delivered by the workers (workers/delivery.py), so no notice is lost or sent for a
change that did not happen.

- Withdrawn: each confirmed booking is cancelled (its seats are no longer sold, its ticket void) and its
  payment is refunded by the workers' refund pass; the customer gets a notice saying so. A booking still
  awaiting payment is cancelled (a payment arriving anyway is refunded by confirmation).
- Moved (new start time): each confirmed booking stays, its customer gets a notice of the new time with
  a button to cancel for a refund, and the show reminder moves with the show.
Connected cinemas' shows are their theatre's to settle (booking_core.schedule_sync).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from booking_core.bookings.cancellation import void_sale
from booking_core.bookings.theatre_commits import refund_waiting_booking
from booking_core.models import Booking, BookingStatus, Cinema, Hall, Show
from booking_core.theatre.port import LOCAL_SYSTEM
from booking_core.tickets.outbox import NotificationKind, add_show_notice, move_reminder

WITHDRAWN_BY_CINEMA = "the cinema withdrew the show"


@dataclass(frozen=True)
class ShowChangesSettled:
    """How many bookings a withdrawal or a move touched."""

    refunded: int = 0  # confirmed bookings of withdrawn shows, cancelled and refunded
    cancelled_unpaid: int = 0  # bookings of withdrawn shows that were still awaiting payment
    told_of_move: int = 0  # confirmed bookings of moved shows, told and their reminder moved


async def settle_show_changes(
    session: AsyncSession,
    withdrawn_show_ids: Sequence[int],
    moved_from: Mapping[int, datetime],
    now: datetime,
) -> ShowChangesSettled:
    """Within the import's transaction: settle the bookings of withdrawn and moved local shows.

    `moved_from` maps a moved show's id to its start before the import (its new start is on the row).
    """
    refunded = cancelled = told = 0
    local = await _local_shows(session, [*withdrawn_show_ids, *moved_from])
    for booking in await _open_bookings(session, [s for s in withdrawn_show_ids if s in local]):
        if booking.status == BookingStatus.PENDING_PAYMENT:
            booking.status = BookingStatus.CANCELLED
            booking.status_reason = WITHDRAWN_BY_CINEMA
            cancelled += 1
            continue
        await void_sale(session, booking.id, now)
        await refund_waiting_booking(session, booking, WITHDRAWN_BY_CINEMA)
        await add_show_notice(session, booking, NotificationKind.SHOW_WITHDRAWN, now)
        refunded += 1
    for show_id, old_start in moved_from.items():
        if show_id not in local:
            continue
        for booking in await _open_bookings(session, [show_id]):
            if booking.status != BookingStatus.CONFIRMED:
                continue
            await add_show_notice(session, booking, NotificationKind.SHOW_MOVED, now)
            await move_reminder(session, booking.id, old_start, local[show_id], now)
            told += 1
    return ShowChangesSettled(refunded, cancelled, told)


async def _local_shows(session: AsyncSession, show_ids: list[int]) -> dict[int, datetime]:
    """The local cinemas' shows among these, with their (new) start."""
    if not show_ids:
        return {}
    rows = await session.execute(
        select(Show.id, Show.starts_at)
        .join(Hall, Hall.id == Show.hall_id)
        .join(Cinema, Cinema.id == Hall.cinema_id)
        .where(Show.id.in_(show_ids), Cinema.system == LOCAL_SYSTEM)
    )
    return {show_id: starts_at for show_id, starts_at in rows}


async def _open_bookings(session: AsyncSession, show_ids: list[int]) -> list[Booking]:
    if not show_ids:
        return []
    bookings = await session.scalars(
        select(Booking)
        .where(
            Booking.show_id.in_(show_ids),
            Booking.status.in_((BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED)),
        )
        .options(selectinload(Booking.customer))
        .order_by(Booking.id)
        .with_for_update()
    )
    return list(bookings)
