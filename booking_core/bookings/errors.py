"""Why a booking step was refused or must wait: checkout, cancellation, confirmation, contacts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CheckoutRefusal(StrEnum):
    """Why a hold could not be turned into a booking; stable codes the bot turns into words."""

    HOLD_EXPIRED = "hold_expired"  # expired, released, replaced by another selection, or not this user's
    UNKNOWN_CUSTOMER = "unknown_customer"
    SHOW_UNAVAILABLE = "show_unavailable"  # started or withdrawn
    NO_PRICE = "no_price"  # a seat's category has no price for this show
    ALREADY_BOOKED = "already_booked"  # this hold already became a booking that is no longer awaiting payment
    PRICE_CHANGED = "price_changed"  # a connected cinema's lock states another price than ours


@dataclass(frozen=True)
class CheckoutRefused:
    """No booking was made; for PRICE_CHANGED, `amount_minor`/`currency` are the cinema's price now."""

    reason: CheckoutRefusal
    amount_minor: int | None = None
    currency: str | None = None


class CancelRefusal(StrEnum):
    """Why a booking could not be cancelled; stable codes the bot turns into words."""

    NOT_FOUND = "not_found"  # no such booking for this user
    TOO_LATE = "too_late"  # within the cut-off before the show
    NOT_CANCELLABLE = "not_cancellable"  # already cancelled, expired or being refunded
    THEATRE_MANAGED = "theatre_managed"  # a connected cinema's ticket: cancel at the cinema
    THEATRE_UNAVAILABLE = "theatre_unavailable"  # the cinema's own system is not answering: try later


@dataclass(frozen=True)
class CancelRefused:
    """Nothing changed."""

    reason: CancelRefusal


class ConfirmationDeferred(Exception):
    """Redis cannot say now whether a late payment's seats are free: process the event again later."""

    code = "confirmation_deferred"


class InvalidContact(ValueError):
    """A phone number or email address that cannot be used; `code` says which (stable, for the bot)."""

    def __init__(self, code: str, value: str) -> None:
        super().__init__(f"{code}: {value!r}")
        self.code = code
        self.value = value


class CustomerNotFound(LookupError):
    """No customer for that Telegram user (they have not talked to the bot yet)."""
