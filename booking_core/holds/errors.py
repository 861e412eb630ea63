"""Why holding seats or joining a waitlist was refused, and the hold store's own failure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class HoldRefusalReason(StrEnum):
    """Why a hold was refused; stable codes the bot turns into words."""

    SEAT_TAKEN = "seat_taken"  # held by someone else (or offered to a waiter)
    SEAT_SOLD = "seat_sold"
    UNKNOWN_SEAT = "unknown_seat"  # not a seat of this show's hall
    TOO_MANY_SEATS = "too_many_seats"  # over MAX_SEATS_PER_BOOKING (or over the seats of an offer)
    SHOW_STARTED = "show_started"  # or not on sale / unknown show
    RATE_LIMITED = "rate_limited"
    WAITLIST_FIRST = "waitlist_first"  # freed seats are reserved for people on the waitlist
    THEATRE_UNAVAILABLE = "theatre_unavailable"  # a connected cinema's own system is not answering
    HOLD_LIMIT = "hold_limit"  # held this show's seats for HOLD_MAX_SECONDS: a pause before holding again
    TOO_MANY_SHOWS = "too_many_shows"  # holding seats in MAX_SHOWS_HELD other shows already
    NO_SEATS_TOGETHER = "no_seats_together"  # "best N": no block of N adjacent seats is free
    NOT_ON_SALE_YET = "not_on_sale_yet"  # before the show's on_sale_at
    NOT_YOUR_TURN = "not_your_turn"  # the show's on-sale queue runs and this user's turn is not open


@dataclass(frozen=True)
class HoldRefused:
    """A hold that was not granted, and the seats that caused it when it is about seats."""

    reason: HoldRefusalReason
    seat_ids: tuple[int, ...] = ()


class JoinRefusal(StrEnum):
    """Why joining a waitlist was refused."""

    SHOW_STARTED = "show_started"  # or not on sale / unknown show
    TOO_MANY_SEATS = "too_many_seats"  # over MAX_SEATS_PER_BOOKING
    HOLDING = "holding"  # you hold seats of this show: release them first
    OFFERED = "offered"  # you already have an offer for this show
    NOT_ON_SALE_YET = "not_on_sale_yet"  # before the show's on_sale_at
    NOT_YOUR_TURN = "not_your_turn"  # the show's on-sale queue runs: seats (the waitlist's too) go by turns


@dataclass(frozen=True)
class JoinRefused:
    """A join that was refused."""

    reason: JoinRefusal


class InventoryUnavailable(RuntimeError):
    """Redis kept refusing the show's inventory (sold seats changing faster than we can read them)."""
