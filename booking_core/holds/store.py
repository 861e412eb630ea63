"""Seat holds in Redis (DESIGN.md section 3): all-or-nothing holds by Lua script, expiry by sweeper,
freed seats handed to the waitlist first (DESIGN.md sections 3 and 4).

Each operation is one Lua script in booking_core/holds/lua, run by SHA; one Redis round trip per
hold attempt, rate limit and hold lifetime included (a user's first hold of a show adds one more, to
count the shows they hold seats in). A hold past its expiry is never honoured, swept or not.

Shows of connected cinemas (DESIGN.md section 10) use the same holds, and `theatre` (TheatreHolds, when
given) adds their theatre's side behind the same methods: a hold is then also locked at the theatre (a
refused lock undoes the hold), releasing or expiring it releases the lock, and the seat map includes the
seats the theatre sold or locked. Local shows never wait on a theatre.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from booking_core.events import EventSink
from booking_core.holds.best_hold import ranking_key, ranking_payload
from booking_core.holds.due_index import DueIndex, register_hints
from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.sale_queue import SaleQueue
from booking_core.holds.scripts import ShowScripts, as_list, expiry_events
from booking_core.holds.seat_map import HoldOutcome, SeatMap, SeatState, parse_seat_map, read_seat_map
from booking_core.holds.theatre_holds import OfferLocking, TheatreHolds
from booking_core.holds.types import (
    Hold,
    InventorySource,
    LayoutSource,
    ShowInventory,
    from_ms,
    parse_hold,
    to_ms,
)
from booking_core.holds.waitlist import Waitlist
from booking_core.redis_keys import ShowKeys, held_shows_key
from booking_core.theatre.shows import ConnectedShow

__all__ = [
    "Hold",
    "HoldOutcome",
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
    """Seat holds of every show, with the waitlist (`self.waitlist`) that freed seats go to first, and the
    on-sale queues (`self.sale_queue`) that premieres sell through."""

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
        max_hold_seconds: int = 900,
        max_shows: int = 3,
        clock: Callable[[], float] = time.time,
        layouts: LayoutSource | None = None,
        theatre: TheatreHolds | None = None,
        queue_turns: int = 50,
        queue_turn_seconds: int = 180,
        queue_turns_per_user: int = 1,
        queue_admissions_per_second: float | None = None,
    ) -> None:
        self.theatre = theatre
        if theatre is not None:
            # A waitlist offer of a connected show is locked at its theatre before the waiter hears of it.
            events = OfferLocking(events, theatre, self._is_live, self._end_by)
        self._shows = ShowScripts(redis, inventory, clock)
        self._events = events
        self._due = DueIndex(self._shows.scripts)
        self._reminders_due = DueIndex.reminders(self._shows.scripts)
        self._hold_ms = hold_seconds * 1000
        self._max_seats = max_seats
        self._attempts = attempts_per_minute
        self._life_ms = max_hold_seconds * 1000
        self._max_shows = max_shows
        self._rankings: dict[tuple[int, int], asyncio.Future[str]] = {}
        if layouts is None and isinstance(inventory, LayoutSource):
            layouts = inventory
        self.waitlist = Waitlist(
            self._shows, layouts, events, offer_seconds=offer_seconds, max_seats=max_seats
        )
        self.sale_queue = SaleQueue(
            self._shows,
            events,
            max_seats=max_seats,
            turns=queue_turns,
            turn_seconds=queue_turn_seconds,
            turns_per_user=queue_turns_per_user,
            admissions_per_second=queue_admissions_per_second,
        )

    async def hold(
        self, show_id: int, user_id: int, seat_ids: Sequence[int], *, paid: bool = False
    ) -> Hold | HoldRefused:
        """Hold exactly these seats for the user, all or nothing, replacing their current selection.

        A user's holds of one show last at most `max_hold_seconds` from their first seat, and a user holds
        seats in at most `max_shows` shows at once; `paid` (a paid booking taking its seats back) is
        exempt from both. At a connected cinema the seats are then locked at its theatre for the same
        time; when the theatre refuses (or does not answer) the hold is undone and the refusal names the
        seats that went elsewhere.
        """
        seats = _selection(seat_ids)
        connected = await self._connected(show_id)
        result = await self._hold_in_redis(show_id, user_id, seats, paid=paid)
        if connected is None or isinstance(result, HoldRefused):
            return result
        return await self._lock_at_theatre(connected, result)

    async def choose(self, show_id: int, user_id: int, seat_ids: Sequence[int]) -> Hold | HoldRefused | None:
        """Hold exactly these seats (the user's whole selection, all or nothing, as `hold`) in one script
        call: a Mini App tap is one round trip. An empty selection lets the user's seats go: a hold is
        released, a waitlist offer declined (its seats pass to the next waiter); the result is then None.
        No seat map is read: the caller knows the user's seats from the result.

        At a connected cinema the steps go through `hold`, `release` and the waitlist's `decline` (the
        theatre's locks follow).
        """
        seats = sorted({int(seat) for seat in seat_ids})
        if await self._connected(show_id) is not None:
            return await self._choose_with_theatre(show_id, user_id, seats)
        token, now_ms, reply = await self._run_hold("choose", show_id, user_id, seats)
        if "released" in reply:
            await self._after_change(show_id, reply["released"])
            return None
        return await self._held(show_id, user_id, token, seats, reply["hold"], now_ms)

    async def _choose_with_theatre(
        self, show_id: int, user_id: int, seats: list[int]
    ) -> Hold | HoldRefused | None:
        if seats:
            return await self.hold(show_id, user_id, seats)
        current = await self.current_hold(show_id, user_id)
        if current is not None and current.is_offer:
            await self.waitlist.decline(show_id, user_id)
        elif current is not None:
            await self.release(show_id, current.token)
        return None

    async def _lock_at_theatre(self, connected: ConnectedShow, hold: Hold) -> Hold | HoldRefused:
        """Lock a new hold's seats at its theatre; a refusal undoes the hold."""
        assert self.theatre is not None  # _connected() finds shows only through it
        locked = await self.theatre.lock_hold(connected, hold, self._is_live)
        if isinstance(locked, HoldRefused):
            await self._release_in_redis(hold.show_id, hold.token)
            return locked
        return await self._end_by(hold, locked.expires_ms)

    async def _end_by(self, hold: Hold, end_ms: int) -> Hold:
        """The hold ends by `end_ms` (its theatre's lock ends then), so the user sees the true deadline."""
        if end_ms >= to_ms(hold.expires_at):
            return hold
        reply = await self._shows.run(
            "shorten", hold.show_id, [hold.token, end_ms], now_ms=self._shows.now_ms()
        )
        await register_hints(self._shows.scripts, hold.show_id, reply)
        return replace(hold, expires_at=from_ms(reply["exp"])) if reply.get("exp") else hold

    async def hold_best(self, show_id: int, user_id: int, count: int) -> HoldOutcome:
        """Hold the best `count` seats side by side (replacing the user's selection) in one script call.

        Refused with NO_SEATS_TOGETHER when no block of `count` is free; the outcome carries the seat map
        as the user sees it afterwards. At a connected cinema the block is then locked at its theatre
        like any hold (a refused lock undoes it and names the seats that went elsewhere).
        """
        token = secrets.token_urlsafe(18)
        extra_keys = [*self._hold_keys(show_id, user_id), ranking_key(show_id, count), *_gate_keys(show_id)]
        args: list[str | int] = [count, "", *self._hold_args(user_id, token)]
        now_ms = self._shows.now_ms()
        reply = await self._shows.run("best", show_id, args, now_ms=now_ms, extra_keys=extra_keys)
        if reply.get("need_ranking"):
            # The first "best" press of this show and count since its inventory was loaded.
            args[1] = await self._ranking(show_id, count)
            now_ms = self._shows.now_ms()
            reply = await self._shows.run("best", show_id, args, now_ms=now_ms, extra_keys=extra_keys)
        seats = sorted(int(seat) for seat in as_list(reply["seats"]))
        connected = await self._connected(show_id)
        if connected is None:
            return await self._outcome(show_id, user_id, token, seats, reply, now_ms)
        result = await self._held(show_id, user_id, token, seats, reply["hold"], now_ms)
        if isinstance(result, Hold):
            result = await self._lock_at_theatre(connected, result)
        return HoldOutcome(result, await self.seat_map(show_id, user_id))

    async def toggle_seat(self, show_id: int, user_id: int, seat_id: int) -> HoldOutcome:
        """Add the seat to the user's selection, or take it out if it is in it, in one script call.

        The outcome is the new hold (or the refusal, the old selection kept), or None when the last seat
        was let go; with the seat map as the user sees it afterwards. At a connected cinema the same steps
        go through `hold` and `release`, so that the theatre's locks follow.
        """
        if await self._connected(show_id) is not None:
            return await self._toggle_with_theatre(show_id, user_id, seat_id)
        token = secrets.token_urlsafe(18)
        args: list[str | int] = [seat_id, *self._hold_args(user_id, token)]
        now_ms = self._shows.now_ms()
        reply = await self._shows.run(
            "toggle",
            show_id,
            args,
            now_ms=now_ms,
            extra_keys=[*self._hold_keys(show_id, user_id), *_gate_keys(show_id)],
        )
        if "released" in reply:
            return await self._released(show_id, user_id, reply)
        seats = sorted(int(seat) for seat in as_list(reply["seats"]))
        return await self._outcome(show_id, user_id, token, seats, reply, now_ms)

    async def _released(self, show_id: int, user_id: int, reply: dict[str, Any]) -> HoldOutcome:
        """The outcome of a script that let the user's seats go with release.lua (`reply["released"]`)."""
        await self._after_change(show_id, reply["released"])
        return HoldOutcome(None, parse_seat_map(show_id, user_id, reply["map"]))

    async def let_go(self, show_id: int, user_id: int) -> tuple[tuple[int, ...], SeatMap]:
        """Let all the user's seats of the show go (their hold or offer) in one script call: the seats let
        go (none when they held none), and the seat map as they see it afterwards. At a connected cinema
        the same steps go through `release`, so that the theatre's lock follows."""
        if await self._connected(show_id) is not None:
            held = await self.current_hold(show_id, user_id)
            seats = await self.release(show_id, held.token) if held is not None else ()
            return seats, await self.seat_map(show_id, user_id)
        reply = await self._shows.run("let_go", show_id, [user_id], now_ms=self._shows.now_ms())
        after = parse_seat_map(show_id, user_id, reply["map"])
        if not reply["released"]:
            return (), after
        await self._after_change(show_id, reply["released"])
        return tuple(sorted(int(seat) for seat in as_list(reply["released"]["seats"]))), after

    async def _outcome(
        self, show_id: int, user_id: int, token: str, seats: list[int], reply: dict[str, Any], now_ms: int
    ) -> HoldOutcome:
        """The outcome of a script that held with hold.lua (`reply["hold"]`) and answered with the map."""
        result = await self._held(show_id, user_id, token, seats, reply["hold"], now_ms)
        if _undone(result):
            return HoldOutcome(result, await self.seat_map(show_id, user_id))
        return HoldOutcome(result, parse_seat_map(show_id, user_id, reply["map"]))

    async def _toggle_with_theatre(self, show_id: int, user_id: int, seat_id: int) -> HoldOutcome:
        current = await self.current_hold(show_id, user_id)
        chosen = set(current.seat_ids if current else ()) ^ {seat_id}
        result: Hold | HoldRefused | None = None
        if chosen:
            result = await self.hold(show_id, user_id, sorted(chosen))
        elif current is not None:
            await self.release(show_id, current.token)
        return HoldOutcome(result, await self.seat_map(show_id, user_id))

    async def _ranking(self, show_id: int, count: int) -> str:
        """The show's ranking for `count` seats, read once however many presses found it missing at once."""
        key = (show_id, count)
        task = self._rankings.get(key)
        if task is None:

            async def rank() -> str:
                return ranking_payload(await self.waitlist.layout(show_id), count)

            task = asyncio.ensure_future(rank())
            self._rankings[key] = task
            task.add_done_callback(lambda _task: self._rankings.pop(key, None))
        return await asyncio.shield(task)

    def _hold_args(self, user_id: int, token: str, *, paid: bool = False) -> list[str | int]:
        """hold.lua's ARGV after the inventory and clock, up to the seats."""
        # The lifetime limit's pause before a new run of holds: as long as a hold lasts.
        life = [0, 0] if paid else [self._life_ms, self._hold_ms]
        return [user_id, token, self._hold_ms, self._max_seats, self._attempts, RATE_WINDOW_MS, *life]

    @staticmethod
    def _hold_keys(show_id: int, user_id: int) -> list[str]:
        """hold.lua's KEYS after the show's: the user's attempts counter and hold-lifetime start."""
        keys = ShowKeys(show_id)
        return [keys.attempts(user_id), keys.hold_since(user_id)]

    async def _hold_in_redis(
        self, show_id: int, user_id: int, seats: list[int], *, paid: bool = False
    ) -> Hold | HoldRefused:
        token, now_ms, reply = await self._run_hold("hold", show_id, user_id, seats, paid=paid)
        return await self._held(show_id, user_id, token, seats, reply, now_ms, paid=paid)

    async def _run_hold(
        self, script: str, show_id: int, user_id: int, seats: list[int], *, paid: bool = False
    ) -> tuple[str, int, dict[str, Any]]:
        """Run `script` with hold.lua's KEYS and ARGV under a new token: (token, now_ms, its reply)."""
        token = secrets.token_urlsafe(18)
        args = [*self._hold_args(user_id, token, paid=paid), *seats]
        now_ms = self._shows.now_ms()
        keys = [*self._hold_keys(show_id, user_id), *_gate_keys(show_id)]
        return token, now_ms, await self._shows.run(script, show_id, args, now_ms=now_ms, extra_keys=keys)

    async def _held(
        self,
        show_id: int,
        user_id: int,
        token: str,
        seats: list[int],
        reply: dict[str, Any],
        now_ms: int,
        *,
        paid: bool = False,
    ) -> Hold | HoldRefused:
        """The hold (or refusal) hold.lua's reply stands for, after its bookkeeping is done.

        A user's first hold of a show also counts the show among those they hold: over `max_shows`, the
        hold is undone and refused TOO_MANY_SHOWS.
        """
        await register_hints(self._shows.scripts, show_id, reply)
        await self._after_change(show_id, reply)
        if "refused" in reply:
            culprits = tuple(sorted(int(seat) for seat in as_list(reply["seats"])))
            return HoldRefused(HoldRefusalReason(reply["refused"]), culprits)
        if reply.get("first") and not paid and not await self._count_show(user_id, show_id, now_ms):
            await self._release_in_redis(show_id, token)
            return HoldRefused(HoldRefusalReason.TOO_MANY_SHOWS)
        return Hold(
            token=token,
            show_id=show_id,
            user_id=user_id,
            seat_ids=tuple(seats),
            expires_at=from_ms(reply["exp"]),
            is_offer=int(reply["offered"]) > 0,
        )

    async def _count_show(self, user_id: int, show_id: int, now_ms: int) -> bool:
        """Note that the user holds seats of the show (for at most its hold lifetime); False when that
        would be more than `max_shows` shows. Only a user's first hold of a show costs this call.

        Letting seats go (a release, the last seat tapped away, a sale) does not write to the user's list,
        so that it stays one round trip: when the list looks full, the shows in it whose holds are gone
        are dropped first (two more round trips, for a user at the limit only).
        """
        until_ms = now_ms + self._life_ms
        args = [now_ms, show_id, until_ms, self._max_shows]
        key = [held_shows_key(user_id)]
        if await self._shows.scripts.call("held_shows", key, args):
            return True
        return await self._forget_shows_let_go(user_id) and bool(
            await self._shows.scripts.call("held_shows", key, args)
        )

    async def _forget_shows_let_go(self, user_id: int) -> bool:
        """Drop from the user's list of held shows those they hold no seats in any more; whether any."""
        key = held_shows_key(user_id)
        shows = [int(str(show)) for show in await self._shows.redis.zrange(key, 0, -1)]
        calls = [(show_id, ["user", str(user_id)]) for show_id in shows]
        replies = await self._shows.run_many("lookup", calls, now_ms=self._shows.now_ms())
        gone = [str(show_id) for show_id, reply in zip(shows, replies, strict=True) if "token" not in reply]
        if gone:
            await self._shows.redis.zrem(key, *gone)
        return bool(gone)

    async def held_shows(self, user_id: int) -> list[int]:
        """The shows the user may hold seats in now, by their own holds from any channel (the bot or the
        Mini App; a waitlist offer is not counted here): those `max_shows` counts. A show whose seats they
        let go may still be listed (see `_count_show`): look its hold up before acting on it."""
        key = held_shows_key(user_id)
        members = await self._shows.redis.zrangebyscore(key, f"({self._shows.now_ms()}", "+inf")
        return [int(str(member)) for member in members]

    async def current_hold(self, show_id: int, user_id: int) -> Hold | None:
        """The user's live hold (or offer) for the show; None when none or expired."""
        return await self._lookup(show_id, "user", str(user_id))

    async def hold_by_token(self, show_id: int, token: str) -> Hold | None:
        """The live hold with this token; None when expired, released or unknown."""
        return await self._lookup(show_id, "token", token)

    async def holds_by_token(self, tokens: Sequence[tuple[int, str]]) -> list[Hold | None]:
        """`hold_by_token` for several (show id, token) at once, in one round trip."""
        calls = [(show_id, ["token", token]) for show_id, token in tokens]
        replies = await self._shows.run_many("lookup", calls, now_ms=self._shows.now_ms())
        return [
            parse_hold(show_id, reply["token"], reply["record"]) if "token" in reply else None
            for (show_id, _token), reply in zip(tokens, replies, strict=True)
        ]

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
        rankings = [ranking_key(show_id, count) for count in range(1, self._max_seats + 1)]
        await self._shows.redis.delete(keys.key("meta"), keys.key("seats"), *rankings)

    async def seat_map(self, show_id: int, user_id: int | None) -> SeatMap:
        """Every seat's state as the user sees it (booking_core.holds.seat_map), the theatre's included."""
        return await self._with_theatre(
            await read_seat_map(self._shows, show_id, user_id, self._shows.now_ms())
        )

    async def seat_maps(self, show_ids: Sequence[int], user_id: int | None) -> list[SeatMap]:
        """`seat_map` of several shows, read from Redis in one round trip; in the order given."""
        user = "" if user_id is None else str(user_id)
        now_ms = self._shows.now_ms()
        replies = await self._shows.run_many("seat_map", [(show, [user]) for show in show_ids], now_ms=now_ms)
        parsed = [parse_seat_map(show, user_id, reply) for show, reply in zip(show_ids, replies, strict=True)]
        return list(await asyncio.gather(*map(self._with_theatre, parsed)))

    async def _with_theatre(self, seat_map: SeatMap) -> SeatMap:
        """The map with a connected cinema's own sold and locked seats laid over it."""
        show_id = seat_map.show_id
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
                await self._due.done([(show_id, outcome.next_due_ms)])
        return freed

    async def due_reminders(self, now: datetime | None = None) -> list[Hold]:
        """The live holds (and offers) lapsing within a minute whose holders are not yet reminded: each
        handed out once, to one caller, however many processes ask (lua/remind_take.lua)."""
        now_ms = to_ms(now) if now is not None else self._shows.now_ms()
        shows = await self._reminders_due.take(now_ms, SWEEP_SHOWS_PER_ROUND)
        if not shows:
            return []
        replies = await self._shows.run_many(
            "remind_take", [(show_id, []) for show_id in shows], now_ms=now_ms
        )
        await self._reminders_due.done(
            [(show_id, reply["next"] or None) for show_id, reply in zip(shows, replies, strict=True)]
        )
        return [
            parse_hold(show_id, token, record)
            for show_id, reply in zip(shows, replies, strict=True)
            for token, record in as_list(reply["holds"])
        ]

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


def _gate_keys(show_id: int) -> list[str]:
    """hold.lua's last KEYS: the on-sale queue's state and turns, for its on-sale gate."""
    return ShowKeys(show_id).sale_queue()[:2]


def _selection(seat_ids: Sequence[int]) -> list[int]:
    """A hold's seats, each once, in order; a hold needs at least one."""
    seats = sorted({int(seat) for seat in seat_ids})
    if not seats:
        raise ValueError("hold needs at least one seat; use release() to give seats up")
    return seats


def _undone(result: Hold | HoldRefused | None) -> bool:
    """The script granted the hold, then it was undone (too many shows): the map it answered is stale."""
    return isinstance(result, HoldRefused) and result.reason is HoldRefusalReason.TOO_MANY_SHOWS
