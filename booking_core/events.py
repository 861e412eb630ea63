"""What users must be told, as past-tense events; the bot and the workers implement `EventSink`.

The core never sends a message itself: it publishes one of these and the outer layer decides how
(a Telegram message now, a queued job, an outbox row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OfferMade:
    """A waiter's request can be met: seats are held in their name until `expires_at`."""

    show_id: int
    user_id: int
    hold_token: str
    seat_ids: tuple[int, ...]
    expires_at: datetime


@dataclass(frozen=True)
class OfferExpired:
    """A waitlist offer lapsed unanswered; the seats pass on."""

    show_id: int
    user_id: int
    seat_ids: tuple[int, ...]


@dataclass(frozen=True)
class HoldExpired:
    """A user's hold ran out before they paid."""

    show_id: int
    user_id: int
    seat_ids: tuple[int, ...]


@dataclass(frozen=True)
class BookingConfirmed:
    """A payment turned a booking into sold seats and a ticket."""

    booking_id: int
    user_id: int


@dataclass(frozen=True)
class RefundStarted:
    """Money was taken but the booking cannot stand (seats gone, show withdrawn): it goes back."""

    booking_id: int
    user_id: int
    reason: str


@dataclass(frozen=True)
class TurnCame:
    """A user's turn in a show's on-sale queue came: they may hold seats until `ends_at`."""

    show_id: int
    user_id: int
    ends_at: datetime


@dataclass(frozen=True)
class QueueSoldOut:
    """A show sold out while the user was in its on-sale queue: offer the waitlist for `party` seats."""

    show_id: int
    user_id: int
    party: int


@dataclass(frozen=True)
class QueueMoved:
    """A queued user's place, due to be refreshed on their screen: `wait_minutes` is the estimate."""

    show_id: int
    user_id: int
    position: int
    wait_minutes: int


Event = (
    OfferMade
    | OfferExpired
    | HoldExpired
    | BookingConfirmed
    | RefundStarted
    | TurnCame
    | QueueSoldOut
    | QueueMoved
)


class EventSink(Protocol):
    """Receives the core's events; implementations must not raise for delivery problems."""

    async def publish(self, event: Event) -> None:
        """Hand one event on to whoever tells the user."""


class CollectingSink:
    """An EventSink that keeps what it is given, in order: for the single-process demo and tests."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        """Remember the event."""
        self.events.append(event)
