"""The SQL schema: the ACID source of truth for the catalogue and for every sale (DESIGN.md section 2).

Money is integer minor units plus an ISO currency code. Times are stored in UTC and come back as
timezone-aware UTC datetimes on every database.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utc_now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints predictably."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class BookingStatus(enum.StrEnum):
    """Where a booking is in its life (DESIGN.md section 5)."""

    PENDING_PAYMENT = "pending_payment"
    CONFIRMED = "confirmed"
    PAID_UNCONFIRMED = "paid_unconfirmed"
    REFUND_PENDING = "refund_pending"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class NotificationStatus(enum.StrEnum):
    """Delivery state of one outbox row; it only moves forward."""

    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


class City(Base):
    __tablename__ = "cities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))

    cinemas: Mapped[list[Cinema]] = relationship(back_populates="city")


class Cinema(Base):
    __tablename__ = "cinemas"
    __table_args__ = (UniqueConstraint("system", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    # "local": our database is the theatre's system; any other name is a connected Theatre API system.
    system: Mapped[str] = mapped_column(String(64), default="local")
    external_id: Mapped[str] = mapped_column(String(100))

    city: Mapped[City] = relationship(back_populates="cinemas")
    halls: Mapped[list[Hall]] = relationship(back_populates="cinema")


class Hall(Base):
    __tablename__ = "halls"
    __table_args__ = (UniqueConstraint("cinema_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cinema_id: Mapped[int] = mapped_column(ForeignKey("cinemas.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The hall's id in its catalogue (a connected theatre's hall id): matched before the name, so a
    # renamed hall stays the same hall. None for halls of files that give no id.
    external_id: Mapped[str | None] = mapped_column(String(100), default=None)

    cinema: Mapped[Cinema] = relationship(back_populates="halls")
    seats: Mapped[list[Seat]] = relationship(back_populates="hall", order_by="(Seat.row_index, Seat.column)")


class Seat(Base):
    """One seat of a hall. `column` is its position in the row counting gaps, so aisles show."""

    __tablename__ = "seats"
    __table_args__ = (UniqueConstraint("hall_id", "row_label", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    row_index: Mapped[int] = mapped_column(Integer)
    row_label: Mapped[str] = mapped_column(String(8))
    number: Mapped[int] = mapped_column(Integer)
    column: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))

    hall: Mapped[Hall] = relationship(back_populates="seats")

    @property
    def label(self) -> str:
        """How people say the seat: row letter then number, e.g. "F12"."""
        return f"{self.row_label}{self.number}"


class Movie(Base):
    __tablename__ = "movies"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    runtime_minutes: Mapped[int] = mapped_column(Integer)
    age_rating: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(32))
    synopsis: Mapped[str] = mapped_column(Text, default="")


class Show(Base):
    __tablename__ = "shows"
    __table_args__ = (
        UniqueConstraint("hall_id", "starts_at"),
        UniqueConstraint("external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100))
    movie_id: Mapped[int] = mapped_column(ForeignKey("movies.id"), index=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    # False once the theatre withdraws the show: it stays for the bookings that reference it.
    on_sale: Mapped[bool] = mapped_column(default=True)
    # A premiere's on-sale moment: before it seats cannot be held (README: "On-sale queue").
    on_sale_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # People who arrive before on_sale_at wait in a fair queue and choose seats in turns.
    sale_queue: Mapped[bool] = mapped_column(default=False)

    movie: Mapped[Movie] = relationship()
    hall: Mapped[Hall] = relationship()
    prices: Mapped[list[ShowPrice]] = relationship(back_populates="show", cascade="all, delete-orphan")


class ShowPrice(Base):
    __tablename__ = "show_prices"

    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    amount_minor: Mapped[int] = mapped_column(Integer)

    show: Mapped[Show] = relationship(back_populates="prices")


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Booking(Base):
    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(32), default=BookingStatus.PENDING_PAYMENT)
    status_reason: Mapped[str | None] = mapped_column(String(300))
    hold_token: Mapped[str] = mapped_column(String(64), unique=True)
    hold_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    theatre_lock_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now, onupdate=utc_now)

    show: Mapped[Show] = relationship()
    customer: Mapped[Customer] = relationship()
    lines: Mapped[list[BookingLine]] = relationship(back_populates="booking", cascade="all, delete-orphan")
    ticket: Mapped[Ticket | None] = relationship(back_populates="booking")


class BookingLine(Base):
    """A seat a booking asks for, priced when the booking was made."""

    __tablename__ = "booking_lines"

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), primary_key=True)
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    price_minor: Mapped[int] = mapped_column(Integer)

    booking: Mapped[Booking] = relationship(back_populates="lines")
    seat: Mapped[Seat] = relationship()


class BookedSeat(Base):
    """A sold seat. UNIQUE (show, seat) is the last line of defence against a double sale."""

    __tablename__ = "booked_seats"
    __table_args__ = (UniqueConstraint("show_id", "seat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"))
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id"))
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)


class Payment(Base):
    """A checkout opened at a provider for one booking."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("provider", "checkout_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    checkout_id: Mapped[str] = mapped_column(String(255))
    checkout_url: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(32), default="open")
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    provider_payment_id: Mapped[str | None] = mapped_column(String(255))
    refund_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class PaymentEvent(Base):
    """A provider's webhook exactly as received, stored once per provider event id."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    # How often the periodic safety net enqueued it again (workers/periodic.py parks it after a few).
    passes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    theatre_ticket_id: Mapped[str | None] = mapped_column(String(100))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    booking: Mapped[Booking] = relationship(back_populates="ticket")


class TheatreCommit(Base):
    """A paid booking of a connected cinema that still needs its theatre (DESIGN.md section 10).

    `committing`: the theatre has not confirmed the sale yet (the booking is `paid_unconfirmed`); a
    worker commits again with the same idempotency key until `give_up_at`, then refunds. `releasing`:
    the booking was refunded while the theatre was unreachable, so its lock is released (and a ticket the
    theatre issued after all is cancelled) once the theatre answers. The row goes when nothing is owed.
    """

    __tablename__ = "theatre_commits"

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="committing")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    give_up_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class Notification(Base):
    """One outgoing message (the outbox): written in the sale's transaction, delivered by workers."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("booking_id", "channel", "kind"),
        Index("ix_notifications_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16), default=NotificationStatus.PENDING)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(100), index=True)
    # An SMS row's unguessable name in its status callback URL (never the row id, which is sequential).
    callback_ref: Mapped[str | None] = mapped_column(String(32), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SaleQueueEntry(Base):
    """The audit trail of a show's on-sale queue: its opening (seed and order) and every admission."""

    __tablename__ = "sale_queue_log"
    # One row per opening: only "opened" rows carry a seed (NULLs never collide). A queue Redis lost (a
    # failover without persistence) is opened again with a new seed, and the log says so.
    __table_args__ = (Index("uq_sale_queue_log_opening", "show_id", "seed", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "opened" | "admitted" | "sold_out"
    # The admitted user ("admitted"); 0 for the show-wide rows.
    user_id: Mapped[int] = mapped_column(BigInteger, default=0)
    position: Mapped[int | None] = mapped_column(Integer)  # place in the queue when admitted
    seed: Mapped[int | None] = mapped_column(BigInteger)  # the opening shuffle's seed ("opened")
    # "opened": the pre-opening joiners in their drawn order (user ids, comma separated);
    # "sold_out": the people still queued, who were told.
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
