"""The bookings service assembled at start-up, and a customer's view of their bookings (/mytickets).

`Bookings` only binds the collaborators and settings once; each use case is a plain function in
`checkout`, `confirmation` and `cancellation` that tests may call directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from booking_core.bookings.cancellation import Cancelled, RefundDue, cancel_booking, mark_refunded, refund_due
from booking_core.bookings.checkout import (
    CheckoutStarted,
    OpenCheckout,
    expire_lapsed_bookings,
    record_checkout,
    start_checkout,
)
from booking_core.bookings.confirmation import ConfirmationResult, ConfirmationTurns, confirm_payment
from booking_core.bookings.errors import CancelRefused, CheckoutRefused
from booking_core.database import SessionFactory
from booking_core.events import EventSink
from booking_core.holds.store import Hold, HoldStore
from booking_core.models import Booking, BookingLine, BookingStatus, Customer, Hall, Seat, Show, utc_now
from booking_core.payments.port import PaymentEvent
from booking_core.settings import Settings
from booking_core.tickets.content import TicketView

# Bookings a customer is shown: the ones that are or were a sale, or money on its way back.
_LISTED = (
    BookingStatus.CONFIRMED,
    BookingStatus.PAID_UNCONFIRMED,
    BookingStatus.REFUND_PENDING,
    BookingStatus.REFUNDED,
    BookingStatus.CANCELLED,
)


@dataclass(frozen=True)
class BookedTicket:
    """One booking as /mytickets shows it; `view` is the ticket itself when one stands."""

    booking_id: int
    status: BookingStatus
    status_reason: str | None
    show_id: int
    movie_title: str
    cinema_name: str
    cinema_address: str
    hall_name: str
    timezone: str
    starts_at: datetime
    seat_labels: tuple[str, ...]
    amount_minor: int
    currency: str
    code: str | None
    can_cancel: bool
    view: TicketView | None


async def list_tickets(
    sessions: SessionFactory,
    telegram_user_id: int,
    now: datetime,
    *,
    cancel_cutoff: timedelta = timedelta(minutes=60),
    past_limit: int = 20,
) -> tuple[list[BookedTicket], list[BookedTicket]]:
    """The user's (upcoming, past) bookings: upcoming soonest first, past most recent first."""
    async with sessions() as session:
        bookings = list(
            await session.scalars(
                _booking_query()
                .join(Customer, Customer.id == Booking.customer_id)
                .join(Show, Show.id == Booking.show_id)
                .where(Customer.telegram_user_id == telegram_user_id, Booking.status.in_(_LISTED))
                # A booking cancelled before it was paid never was a ticket: not worth listing.
                .where((Booking.status != BookingStatus.CANCELLED) | Booking.ticket.has())
                .order_by(Show.starts_at, Booking.id)
            )
        )
    tickets = [_booked_ticket(booking, now, cancel_cutoff) for booking in bookings]
    upcoming = [t for t in tickets if t.starts_at > now and t.status != BookingStatus.CANCELLED]
    upcoming_ids = {t.booking_id for t in upcoming}
    past = [t for t in reversed(tickets) if t.booking_id not in upcoming_ids][:past_limit]
    return upcoming, past


async def ticket_view(sessions: SessionFactory, booking_id: int) -> TicketView | None:
    """The ticket of a confirmed booking, for the delivery workers; None when there is no standing ticket."""
    async with sessions() as session:
        booking = await session.scalar(_booking_query().where(Booking.id == booking_id))
        if booking is None or booking.status != BookingStatus.CONFIRMED:
            return None
        return _view(booking)


async def notice_view(sessions: SessionFactory, booking_id: int) -> TicketView | None:
    """The booking's ticket as it was issued, void or not: what a notice about its show refers to."""
    async with sessions() as session:
        booking = await session.scalar(_booking_query().where(Booking.id == booking_id))
        return None if booking is None else _view(booking, void_too=True)


def _booking_query() -> Select[Booking]:
    return select(Booking).options(
        selectinload(Booking.show).selectinload(Show.movie),
        selectinload(Booking.show).selectinload(Show.hall).selectinload(Hall.cinema),
        selectinload(Booking.lines).selectinload(BookingLine.seat),
        selectinload(Booking.ticket),
    )


def _seat_labels(booking: Booking) -> tuple[str, ...]:
    seats: list[Seat] = sorted((line.seat for line in booking.lines), key=lambda s: (s.row_index, s.column))
    return tuple(seat.label for seat in seats)


def _view(booking: Booking, *, void_too: bool = False) -> TicketView | None:
    ticket = booking.ticket
    if ticket is None or (ticket.cancelled_at is not None and not void_too):
        return None
    show = booking.show
    cinema = show.hall.cinema
    return TicketView(
        code=ticket.code,
        movie_title=show.movie.title,
        cinema_name=cinema.name,
        cinema_address=cinema.address,
        hall_name=show.hall.name,
        seat_labels=_seat_labels(booking),
        starts_at=show.starts_at,
        timezone=cinema.timezone,
        runtime_minutes=show.movie.runtime_minutes,
        amount_minor=booking.amount_minor,
        currency=booking.currency,
        theatre_ticket_id=ticket.theatre_ticket_id,
    )


def _booked_ticket(booking: Booking, now: datetime, cancel_cutoff: timedelta) -> BookedTicket:
    show = booking.show
    cinema = show.hall.cinema
    status = BookingStatus(booking.status)
    return BookedTicket(
        booking_id=booking.id,
        status=status,
        status_reason=booking.status_reason,
        show_id=show.id,
        movie_title=show.movie.title,
        cinema_name=cinema.name,
        cinema_address=cinema.address,
        hall_name=show.hall.name,
        timezone=cinema.timezone,
        starts_at=show.starts_at,
        seat_labels=_seat_labels(booking),
        amount_minor=booking.amount_minor,
        currency=booking.currency,
        code=booking.ticket.code if booking.ticket is not None else None,
        # A connected cinema's ticket is cancelled at its theatre, so it needs the theatre's ticket id.
        can_cancel=status == BookingStatus.CONFIRMED
        and (
            cinema.system == "local"
            or (booking.ticket is not None and booking.ticket.theatre_ticket_id is not None)
        )
        and now <= show.starts_at - cancel_cutoff,
        view=_view(booking) if status == BookingStatus.CONFIRMED else None,
    )


@dataclass(frozen=True)
class Bookings:
    """The booking use cases bound to the database, the hold store, the event sink and the settings."""

    sessions: SessionFactory
    holds: HoldStore
    events: EventSink
    reminder_minutes: int = 120
    cancel_cutoff: timedelta = timedelta(minutes=60)
    # Sessions for reads that tolerate a snapshot (on SQLite they never wait for the write lock).
    reads: SessionFactory | None = None
    # Shared by this process's confirmations: payments confirming at once share their reads, their
    # Redis lookups and their transaction.
    settling: ConfirmationTurns | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        sessions: SessionFactory,
        holds: HoldStore,
        events: EventSink,
        *,
        reads: SessionFactory | None = None,
    ) -> Bookings:
        """Build the service with REMINDER_MINUTES and CANCEL_CUTOFF_MINUTES from the settings."""
        return cls(
            sessions=sessions,
            holds=holds,
            events=events,
            reads=reads,
            settling=ConfirmationTurns(sessions, holds, reads) if settings.SETTLE_PAYMENTS_TOGETHER else None,
            reminder_minutes=settings.REMINDER_MINUTES,
            cancel_cutoff=timedelta(minutes=settings.CANCEL_CUTOFF_MINUTES),
        )

    async def start_checkout(
        self, hold: Hold, now: datetime | None = None
    ) -> CheckoutStarted | CheckoutRefused:
        """See `checkout.start_checkout`."""
        return await start_checkout(self.sessions, self.holds, hold, now=now)

    async def record_checkout(self, booking_id: int, provider: str, checkout_id: str, url: str) -> bool:
        """See `checkout.record_checkout`."""
        return await record_checkout(self.sessions, booking_id, provider, checkout_id, url)

    async def expire_lapsed(self, now: datetime | None = None) -> list[OpenCheckout]:
        """See `checkout.expire_lapsed_bookings`."""
        return await expire_lapsed_bookings(self.sessions, now or utc_now())

    async def confirm_payment(self, event: PaymentEvent, now: datetime | None = None) -> ConfirmationResult:
        """See `confirmation.confirm_payment`."""
        return await confirm_payment(
            self.sessions,
            self.holds,
            self.events,
            event,
            reminder_minutes=self.reminder_minutes,
            now=now,
            reads=self.reads,
            turns=self.settling,
        )

    async def cancel(
        self, booking_id: int, telegram_user_id: int, now: datetime | None = None
    ) -> Cancelled | CancelRefused:
        """See `cancellation.cancel_booking`."""
        return await cancel_booking(
            self.sessions,
            self.holds,
            self.events,
            booking_id,
            telegram_user_id,
            cancel_cutoff=self.cancel_cutoff,
            now=now,
        )

    async def refund_due(self, limit: int = 100) -> list[RefundDue]:
        """See `cancellation.refund_due`."""
        return await refund_due(self.sessions, limit)

    async def mark_refunded(
        self, booking_id: int, refund_id: str, payment_reference: str | None = None
    ) -> bool:
        """See `cancellation.mark_refunded`."""
        return await mark_refunded(self.sessions, booking_id, refund_id, payment_reference=payment_reference)

    async def list_tickets(
        self, telegram_user_id: int, now: datetime | None = None
    ) -> tuple[list[BookedTicket], list[BookedTicket]]:
        """See `list_tickets`."""
        return await list_tickets(
            self.sessions, telegram_user_id, now or utc_now(), cancel_cutoff=self.cancel_cutoff
        )

    async def ticket_view(self, booking_id: int) -> TicketView | None:
        """See `ticket_view`."""
        return await ticket_view(self.sessions, booking_id)
