"""Where seat holds and waitlists live in Redis: the whole key layout, in one place.

Every key of one show carries the hash tag `{show:<id>}`, so a script touching one show stays in one
Redis Cluster slot. The per-show scripts all take `ShowKeys.standard()` as KEYS[1..14] in this order
(the shared prelude `_lib.lua` names them); a script's own extra keys follow.
The only keys outside a show's slot are the sweeper's and the hold reminders' indexes of shows, which
share the tag `{sweep}`, and
each user's lists of shows they hold seats in and whose waitlists they joined (`held_shows_key`,
`waiting_shows_key`, tag `{user:<id>}`).

The rule on a Redis Cluster: every script call (and every MULTI/WATCH transaction) touches one slot.
A key a show's script uses, per-user ones included (the rate counter), is `ShowKeys(show).key(...)`.
State across shows (say, the shows a user holds seats in) cannot join a show's script: it gets a tag
of its own (`{user:<id>}`) and a script call of its own (`held_shows`: made right after a user's first
hold of a show, the hold undone if the count refuses).
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "mq"

# KEYS order of every per-show script; `_lib.lua` relies on it.
STANDARD_KEYS = (
    "meta",  # HASH starts_ms, on_sale ("1" / "0")
    "seats",  # SET seat ids of the show's hall, plus the sentinel "-"
    "sold",  # SET sold seat ids (mirror of booked_seats), plus the sentinel "-" so empty still exists
    "sold_gen",  # STRING bumped by every sold-set change, so a stale rebuild from SQL is refused
    "holds",  # HASH token -> "user|expires_ms|offered|seat,seat,..." (offered = seats offered, 0 if not)
    "seat_holds",  # HASH seat id -> token
    "user_holds",  # HASH user id -> token (one hold per user per show)
    "expiry",  # ZSET token -> expires_ms
    "queue",  # ZSET waiting user id -> arrival number
    "requests",  # HASH waiting user id -> "count|together"
    "passed",  # HASH waiting user id -> how many later waiters were served first
    "reserved",  # SET freed seats kept for the waitlist
    "wl_version",  # STRING bumped by every change to queue or reserved (optimistic check of offers)
    "wl_seq",  # STRING arrival counter
)

# A seat-set member that is never a seat id: it lets an "empty" set exist.
SENTINEL = "-"


@dataclass(frozen=True)
class ShowKeys:
    """The Redis keys of one show."""

    show_id: int

    @property
    def tag(self) -> str:
        """The hash tag shared by every key of this show."""
        return f"{PREFIX}:{{show:{self.show_id}}}"

    def key(self, name: str) -> str:
        """The key called `name` (one of STANDARD_KEYS, or a script's own)."""
        return f"{self.tag}:{name}"

    def standard(self) -> list[str]:
        """KEYS[1..14] of every per-show script."""
        return [self.key(name) for name in STANDARD_KEYS]

    def attempts(self, user_id: int) -> str:
        """Per-user counter of hold attempts in the current rate-limit window."""
        return self.key(f"attempts:{user_id}")

    def hold_since(self, user_id: int) -> str:
        """When the user's current run of holds of this show began (ms; the hold lifetime limit)."""
        return self.key(f"hold_since:{user_id}")

    def sale_queue(self) -> list[str]:
        """The on-sale queue's keys, in the order its scripts take them after the standard ones
        (SALE_QUEUE_KEYS); the hold scripts take the first two (state, turns) as their last KEYS."""
        return [self.key(name) for name in SALE_QUEUE_KEYS]


# The on-sale queue of a show (booking_core/holds/sale_queue.py), in the show's slot.
SALE_QUEUE_KEYS = (
    "sq_state",  # HASH phase ("open" / "done" / "sold_out"; absent before opening), seed, opened_ms,
    #              seq (arrival counter), last (last place given), served (admissions so far),
    #              drawn (the opening's drawn order, comma separated), logged (seed, once its row is in SQL)
    "sq_turns",  # ZSET admitted user id -> ms their window to hold seats ends
    "sq_line",  # ZSET queued user id -> arrival number (before opening) or place in the queue (after)
    "sq_party",  # HASH queued user id -> how many seats they want (for the waitlist at a sell-out)
    "sq_admitted",  # SET users ever admitted: nobody is admitted twice
    "sq_told",  # ZSET queued user id -> ms their place is next due to be refreshed on screen
)


def user_turns_key(user_id: int) -> str:
    """A user's on-sale turn claims (ZSET "<show>:<step token>" -> ms the window ends), in their slot."""
    return f"{PREFIX}:{{user:{user_id}}}:sale_turns"


def held_shows_key(user_id: int) -> str:
    """The shows a user holds seats in (ZSET show id -> ms): one user's keys, in a slot of their own."""
    return f"{PREFIX}:{{user:{user_id}}}:held_shows"


# The sweeper's global index: show id -> ms when it next has due holds; shows being swept, by lease end.
DUE_SHOWS = f"{PREFIX}:{{sweep}}:due"
SWEEPING_SHOWS = f"{PREFIX}:{{sweep}}:running"
# The same for hold reminders: show id -> ms when a hold's reminder next falls due; shows being reminded.
REMIND_SHOWS = f"{PREFIX}:{{sweep}}:remind"
REMINDING_SHOWS = f"{PREFIX}:{{sweep}}:reminding"


def waiting_shows_key(user_id: int) -> str:
    """The shows whose waitlist a user joined (ZSET show id -> ms joined), in their slot; /cancel reads it."""
    return f"{PREFIX}:{{user:{user_id}}}:waiting_shows"
