"""Callback data: what every inline button carries, so any bot process can answer any button.

Format: ``v1:<action>[:<int>...]``, ASCII, at most 64 bytes (Telegram's limit). Every action has a
fixed list of integer arguments; anything else (another version, an unknown action, a wrong count,
a non-integer, a negative number) is refused by `decode` with `None`, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

VERSION = "v1"
MAX_BYTES = 64
# Callback data kept once made: a seat map makes up to 100 per screen, mostly the same ones again.
ENCODED_KEPT = 65_536


class Action(StrEnum):
    """What a button asks for; the value is what travels in the callback data."""

    CITIES = "cities"  # back to the list of cities
    CITY = "city"  # (city_id): movies showing in a city
    MOVIE = "mv"  # (city_id, movie_id): shows of a movie in a city
    SHOW = "sh"  # (show_id, block): the seat map of a show at a block of the hall
    SEAT = "st"  # (show_id, seat_id, block): toggle one seat in the selection
    BEST = "best"  # (show_id, count): hold the best `count` adjacent seats
    CHECKOUT = "pay"  # (show_id,): confirm the selection and open the checkout
    RELEASE = "rel"  # (show_id,): let the held seats go
    WAITLIST_JOIN = "wj"  # (show_id, count, together): join the waitlist
    WAITLIST_STATUS = "ws"  # (show_id,): where am I in the queue
    WAITLIST_LEAVE = "wl"  # (show_id,): leave the queue
    OFFER_ACCEPT = "oa"  # (show_id,): take the seats the waitlist offered
    OFFER_DECLINE = "od"  # (show_id,): pass the offered seats on
    MY_TICKETS = "mytickets"  # the user's tickets as a new message (under tickets and notices, which stay)
    TICKET = "tk"  # (booking_id,): one ticket with its QR code
    CANCEL_BOOKING = "cx"  # (booking_id,): cancel a booking (asks first)
    CANCEL_CONFIRMED = "cxy"  # (booking_id,): cancel it, confirmed
    NOOP = "noop"  # labels, the screen, taken seats: nothing to do
    SHOWS_DAY = "sd"  # (city_id, movie_id, yyyymmdd): shows of a movie in a city on one local day
    HELP = "help"  # the help screen
    CONTACTS = "ct"  # (show_id,): ticket delivery details; show_id 0 when not opened from a checkout
    PHONE_ASK = "pha"  # (show_id,): ask for the phone number (contact-sharing button)
    EMAIL_ASK = "ema"  # (show_id,): ask for an email address (typed)
    PHONE_CLEAR = "phx"  # (show_id,): forget the phone number
    EMAIL_CLEAR = "emx"  # (show_id,): forget the email address
    TICKETS = "tks"  # the user's tickets in place of this message (MY_TICKETS sends a new message)
    LOCATION_ASK = "loc"  # ask for the user's location (location-sharing keyboard)
    QUEUE_JOIN = "qj"  # (show_id, party): join a premiere's on-sale queue (party 0: ask how many seats)
    QUEUE_STATUS = "qs"  # (show_id,): your place in the on-sale queue, refreshed


ARITY: dict[Action, int] = {
    Action.CITIES: 0,
    Action.CITY: 1,
    Action.MOVIE: 2,
    Action.SHOW: 2,
    Action.SEAT: 3,
    Action.BEST: 2,
    Action.CHECKOUT: 1,
    Action.RELEASE: 1,
    Action.WAITLIST_JOIN: 3,
    Action.WAITLIST_STATUS: 1,
    Action.WAITLIST_LEAVE: 1,
    Action.OFFER_ACCEPT: 1,
    Action.OFFER_DECLINE: 1,
    Action.MY_TICKETS: 0,
    Action.TICKET: 1,
    Action.CANCEL_BOOKING: 1,
    Action.CANCEL_CONFIRMED: 1,
    Action.NOOP: 0,
    Action.SHOWS_DAY: 3,
    Action.HELP: 0,
    Action.CONTACTS: 1,
    Action.PHONE_ASK: 1,
    Action.EMAIL_ASK: 1,
    Action.PHONE_CLEAR: 1,
    Action.EMAIL_CLEAR: 1,
    Action.TICKETS: 0,
    Action.LOCATION_ASK: 0,
    Action.QUEUE_JOIN: 2,
    Action.QUEUE_STATUS: 1,
}

_ACTIONS = {action.value: action for action in Action}


@dataclass(frozen=True)
class Callback:
    """A decoded button: its action and integer arguments."""

    action: Action
    args: tuple[int, ...] = ()


@lru_cache(maxsize=ENCODED_KEPT)
def encode(action: Action, *args: int) -> str:
    """The callback data for a button; raises ValueError for a wrong argument count or over 64 bytes."""
    if len(args) != ARITY[action] or any(arg < 0 for arg in args):
        raise ValueError(f"{action.name} takes {ARITY[action]} non-negative arguments, got {args}")
    data = ":".join([VERSION, action.value, *map(str, args)])
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data}")
    return data


@lru_cache(maxsize=ENCODED_KEPT)
def decode(data: str | None) -> Callback | None:
    """The button behind some callback data, or None when it is not one of ours (stale or forged).

    Kept per data string (a `Callback` is frozen): every button handler's pattern decodes the data of
    each press until one matches (bot/routing.py), and the handler decodes it once more."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    version, _, rest = data.partition(":")
    if version != VERSION:
        return None
    name, *raw_args = rest.split(":")
    action = _ACTIONS.get(name)
    if action is None or len(raw_args) != ARITY[action]:
        return None
    if not all(arg.isascii() and arg.isdigit() and len(arg) <= 12 for arg in raw_args):
        return None
    return Callback(action, tuple(int(arg) for arg in raw_args))
