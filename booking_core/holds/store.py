"""Seat holds in Redis (DESIGN.md section 3): all-or-nothing holds by Lua script, expiry by sweeper,
freed seats handed to the waitlist first (DESIGN.md sections 3 and 4).

Each operation is one Lua script in booking_core/holds/lua, run by SHA; one Redis round trip per
hold attempt, rate limit included. A hold past its expiry is never honoured, swept or not.

Shows of connected cinemas (DESIGN.md section 10) use the same holds, and `theatre` (TheatreHolds, when
given) adds their theatre's side behind the same methods: a hold is then also locked at the theatre (a
refused lock undoes the hold), releasing or expiring it releases the lock, and the seat map includes the
seats the theatre sold or locked. Local shows never wait on a theatre.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from booking_core.events import EventSink
from booking_core.holds.best_seats import best_seats, stranded_seats
from booking_core.holds.due_index import DueIndex
from booking_core.holds.scripts import ShowScripts, as_list, expiry_events
from booking_core.holds.seat_map import SeatMap, SeatState, read_seat_map
from booking_core.holds.theatre_holds import OfferLocking, TheatreHolds
from booking_core.holds.types import (
    Hold,
    HoldRefusalReason,
    HoldRefused,
    InventorySource,
    LayoutSource,
    ShowInventory,
    from_ms,
    parse_hold,
    to_ms,
)
from booking_core.holds.waitlist import Waitlist
from booking_core.redis_keys import ShowKeys
from booking_core.theatre.shows import ConnectedShow

__all__ = [
    "Hold",
    "HoldRefusalReason",
    "HoldRefused",
    "HoldStore",
    "InventorySource",
    "LayoutSource",
    "ShowInventory",
]

log = logging.getLogger(__name__)

RATE_WINDOW_MS = 60_000
# Shows handed to one sweeper at a time, and a bound on rounds so one call always ends.
SWEEP_SHOWS_PER_ROUND = 50
SWEEP_MAX_ROUNDS = 100


class HoldStore:
    """Seat holds of every show, with the waitlist (`self.waitlist`) that freed seats go to first."""

    def __init__(
        self,
        redis: aioredis.Redis,
        inventory: InventorySource,
        events: EventSink,
        *,
        hold_seconds: int = 300,
        offer_seconds: int = 120,
        max_seats: int = 10,
        attempts_per_minute: int = 60,
        clock: Callable[[], float] = time.time,
        layouts: LayoutSource | None = None,
        theatre: TheatreHolds | None = None,
    ) -> None:
        self.theatre = theatre
        if theatre is not None:
            # A waitlist offer of a connected show is locked at its theatre before the waiter hears of it.
            events = OfferLocking(events, theatre, self._is_live, self._end_by)
        self._shows = ShowScripts(redis, inventory, clock)
        self._events = events
        self._due = DueIndex(self._shows.scripts)
        self._hold_ms = hold_seconds * 1000
        self._max_seats = max_seats
        self._attempts = attempts_per_minute
        if layouts is None and isinstance(inventory, LayoutSource):
            layouts = inventory
        self.waitlist = Waitlist(
            self._shows, layouts, events, self._due, offer_seconds=offer_seconds, max_seats=max_seats
        )

    async def hold(self, show_id: int, user_id: int, seat_ids: Sequence[int]) -> Hold | HoldRefused:
        """Hold exactly these seats for the user, all or nothing, replacing their current selection.

        At a connected cinema the seats are then locked at its theatre for the same time; when the theatre
        refuses (or does not answer) the hold is undone and the refusal names the seats that went elsewhere.
        """
        seats = sorted({int(seat) for seat in seat_ids})
        if not seats:
            raise ValueError("hold needs at least one seat; use release() to give seats up")
        connected = await self._connected(show_id)
        result = await self._hold_in_redis(show_id, user_id, seats)
        if connected is None or isinstance(result, HoldRefused):
            return result
        assert self.theatre is not None  # _connected() finds shows only through it
        locked = await self.theatre.lock_hold(connected, result, self._is_live)
        if isinstance(locked, HoldRefused):
            await self._release_in_redis(show_id, result.token)
            return locked
        return await self._end_by(result, locked.expires_ms)

    async def _end_by(self, hold: Hold, end_ms: int) -> Hold:
        """The hold ends by `end_ms` (its theatre's lock ends then), so the user sees the true deadline."""
        if end_ms >= to_ms(hold.expires_at):
            return hold
        reply = await self._shows.run(
            "shorten", hold.show_id, [hold.token, end_ms], now_ms=self._shows.now_ms()
        )
        if reply.get("due"):
            await self._due.register(hold.show_id, reply["due"])
        return replace(hold, expires_at=from_ms(reply["exp"])) if reply.get("exp") else hold

    async def _hold_in_redis(self, show_id: int, user_id: int, seats: list[int]) -> Hold | HoldRefused:
        token = secrets.token_urlsafe(18)
        limits = [self._hold_ms, self._max_seats, self._attempts, RATE_WINDOW_MS]
        args: list[str | int] = [user_id, token, *limits, *seats]
        attempts_key = ShowKeys(show_id).attempts(user_id)
        reply = await self._shows.run(
            "hold", show_id, args, now_ms=self._shows.now_ms(), extra_keys=[attempts_key]
        )
        if reply.get("due"):
            await self._due.register(show_id, reply["due"])
        await self._after_change(show_id, reply)
        if "refused" in reply:
            culprits = tuple(sorted(int(seat) for seat in as_list(reply["seats"])))
            return HoldRefused(HoldRefusalReason(reply["refused"]), culprits)
        return Hold(
            token=token,
            show_id=show_id,
            user_id=user_id,
            seat_ids=tuple(seats),
            expires_at=from_ms(reply["exp"]),
            is_offer=int(reply["offered"]) > 0,
        )

    async def current_hold(self, show_id: int, user_id: int) -> Hold | None:
        """The user's live hold (or offer) for the show; None when none or expired."""
        return await self._lookup(show_id, "user", str(user_id))

    async def hold_by_token(self, show_id: int, token: str) -> Hold | None:
        """The live hold with this token; None when expired, released or unknown."""
        return await self._lookup(show_id, "token", token)

    async def release(self, show_id: int, token: str) -> tuple[int, ...]:
        """Give up a hold (and its theatre lock); returns the seats freed (to the waitlist first)."""
        reply = await self._shows.run("release", show_id, ["token", token], now_ms=self._shows.now_ms())
        connected = await self._connected(show_id)
        if connected is not None:
            assert self.theatre is not None
            # Before the waitlist is offered the seats, so that its offer can lock them at the theatre.
            await self.theatre.release_hold(connected, token)
        await self._after_change(show_id, reply)
        return tuple(sorted(int(seat) for seat in as_list(reply["seats"])))

    async def _release_in_redis(self, show_id: int, token: str) -> tuple[int, ...]:
        reply = await self._shows.run("release", show_id, ["token", token], now_ms=self._shows.now_ms())
        await self._after_change(show_id, reply)
        return tuple(sorted(int(seat) for seat in as_list(reply["seats"])))

    async def mark_sold(self, show_id: int, seat_ids: Sequence[int], token: str | None) -> None:
        """After the SQL commit of a sale: seats into the sold cache, the hold `token` gone."""
        args: list[str | int] = [token or "", *sorted({int(seat) for seat in seat_ids})]
        reply = await self._shows.run("mark_sold", show_id, args, now_ms=self._shows.now_ms())
        await self._after_change(show_id, reply)
        if token and self.theatre is not None and await self._connected(show_id) is not None:
            # The hold's lock became the theatre's sale: nothing is left to release there.
            await self.theatre.committed(show_id, token)

    async def mark_unsold(self, show_id: int, seat_ids: Sequence[int]) -> None:
        """After the SQL commit of a cancellation: seats out of the sold cache, to the waitlist or public."""
        args = sorted({int(seat) for seat in seat_ids})
        reply = await self._shows.run("mark_unsold", show_id, args, now_ms=self._shows.now_ms())
        await self._after_change(show_id, reply)
        if self.theatre is not None and await self._connected(show_id) is not None:
            await self.theatre.status.forget(show_id)

    async def forget_sold_cache(self, show_id: int) -> None:
        """Drop the show's sold-seat cache; the next read rebuilds it from SQL."""
        await self._shows.run("forget_sold", show_id, [], now_ms=self._shows.now_ms())

    async def forget_inventory(self, show_id: int) -> None:
        """Drop the cached hall, start time and sale status of a show (after the catalogue changed it)."""
        keys = ShowKeys(show_id)
        await self._shows.redis.delete(keys.key("meta"), keys.key("seats"))

    async def seat_map(self, show_id: int, user_id: int | None) -> SeatMap:
        """Every seat's state as the user sees it (booking_core.holds.seat_map), the theatre's included."""
        seat_map = await read_seat_map(self._shows, show_id, user_id, self._shows.now_ms())
        connected = await self._connected(show_id)
        if connected is None:
            return seat_map
        assert self.theatre is not None
        merged = await self.theatre.merge(connected, seat_map)
        learned = set(merged.seats_in(SeatState.SOLD)) - set(seat_map.seats_in(SeatState.SOLD))
        if learned:
            # Seats the theatre sold itself join our sold set, so that holds and waitlist offers leave
            # them alone without asking the theatre (a rebuild from SQL forgets them until the next map).
            await self.mark_sold(show_id, sorted(learned), None)
        return merged

    async def best_available(
        self,
        show_id: int,
        user_id: int | None,
        count: int,
        *,
        together: bool = True,
        wheelchair: bool = False,
        tie_break: int | None = None,
    ) -> tuple[int, ...] | None:
        """The best `count` seats the user could hold now (their own held seats count as available).

        `tie_break` (e.g. the user's id) orders equally good blocks, so users asking at once spread out.
        """
        taken = await self._taken_by_others(show_id, user_id)
        layout = await self.waitlist.layout(show_id)
        return best_seats(layout, taken, count, together=together, wheelchair=wheelchair, tie_break=tie_break)

    async def stranded_by(
        self, show_id: int, user_id: int | None, seat_ids: Sequence[int]
    ) -> tuple[int, ...]:
        """Seats a manual pick would leave stranded between taken ones (allowed; worth a warning)."""
        taken = await self._taken_by_others(show_id, user_id)
        return stranded_seats(await self.waitlist.layout(show_id), taken, seat_ids)

    async def _taken_by_others(self, show_id: int, user_id: int | None) -> frozenset[int]:
        seat_map = await self.seat_map(show_id, user_id)
        return seat_map.unavailable - set(seat_map.seats_in(SeatState.YOURS))

    async def sweep(self, now: datetime | None = None) -> int:
        """Free every hold and offer due by `now` in every show, handing seats to waitlists; returns count."""
        now_ms = to_ms(now) if now is not None else self._shows.now_ms()
        freed = 0
        for _round in range(SWEEP_MAX_ROUNDS):
            shows = await self._due.take(now_ms, SWEEP_SHOWS_PER_ROUND)
            if not shows:
                break
            for show_id in shows:
                try:
                    outcome = await self.waitlist.settle(show_id, now_ms)
                    connected = await self._connected(show_id)
                    if connected is not None:
                        assert self.theatre is not None
                        await self.theatre.release_expired(connected, now_ms)
                except Exception:
                    # Its lease runs out and another sweep takes it again; other shows go on.
                    log.exception("sweeping show %s failed", show_id)
                    continue
                freed += outcome.expired
                await self._due.done(show_id, outcome.next_due_ms)
        return freed

    async def _connected(self, show_id: int) -> ConnectedShow | None:
        return None if self.theatre is None else await self.theatre.connected(show_id)

    async def _is_live(self, show_id: int, token: str) -> bool:
        return await self.hold_by_token(show_id, token) is not None

    async def _lookup(self, show_id: int, mode: str, key: str) -> Hold | None:
        reply = await self._shows.run("lookup", show_id, [mode, key], now_ms=self._shows.now_ms())
        return parse_hold(show_id, reply["token"], reply["record"]) if "token" in reply else None

    async def _after_change(self, show_id: int, reply: dict[str, Any]) -> None:
        """Tell the users whose expired holds a script retired, and run the offer step if seats moved."""
        for event in expiry_events(show_id, reply.get("expired")):
            await self._events.publish(event)
        if reply.get("settle"):
            await self.waitlist.settle(show_id)
