"""Seats of connected cinemas, held at their own ticketing system behind the hold store (DESIGN.md 10).

The hold store keeps our Redis holds exactly as for a local cinema. For a show of a connected cinema it
also asks this class to lock the held seats at the theatre for the same time (a refused lock undoes the
hold), to release the lock when the hold is released or expires, and to merge the theatre's sold and
locked seats into the seat map.

Our locks live in Redis beside the show's own keys (tag `{show:<id>}`, booking_core/redis_keys.py):
`theatre_locks` HASH hold token -> JSON {"user", "lock", "exp" (ms), "seats" [our seat ids], "amount",
"currency"}; "exp" is the hold's end, which is never after the theatre's lock ends. The
theatre's `locked` list includes them, so merging leaves their seats to our holds, and a payment commits
the lock of the booking's hold. The theatre's own answer is cached by booking_core.theatre.status.
A theatre that is down or refuses never raises out of here into a hold or a map: a hold is refused
with a reason, a map carries `unavailable_reason`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import NamedTuple

import redis.asyncio as aioredis

from booking_core import metrics
from booking_core.events import Event, EventSink, OfferMade
from booking_core.holds.seat_map import THEATRE_UNAVAILABLE, SeatMap, SeatState
from booking_core.holds.types import Hold, HoldRefusalReason, HoldRefused
from booking_core.redis_keys import ShowKeys
from booking_core.theatre.port import (
    Lock,
    SeatsUnavailable,
    TheatreError,
    TheatreRejected,
    TheatreSystem,
    TheatreUnavailable,
)
from booking_core.theatre.shows import ConnectedShow, ConnectedShows
from booking_core.theatre.status import TheatreStatus

log = logging.getLogger(__name__)

LOCKS_KEY = "theatre_locks"
# The hash of our locks outlives its newest entry by a day; the sweep removes entries as they lapse.
LOCK_RECORDS_TTL_MS = 86_400_000
MAX_LOCK_SECONDS = 1800  # the Theatre API's limit
FORGOTTEN_AFTER_MS = 60_000
# How long a hold waits to learn a lock whose answer was lost (a slow or garbled answer), replaying its
# idempotency key; after that the hold is refused and the lock, once learned, released.
LOCK_RECOVERY_SECONDS = 3.0
REPLAY_PAUSE_SECONDS = 0.1
MAX_REPLAY_PAUSE_SECONDS = 2.0
# TheatreUnavailable reasons after which the request may have been done at the theatre.
ANSWER_MAY_BE_LOST = frozenset({"timeout", "connection", "server_error", "in_progress", "bad_response"})
# What the theatre's refusals of a lock mean to the user; anything else is our configuration's fault.
_LOCK_REFUSALS = {
    "show_closed": HoldRefusalReason.SHOW_STARTED,
    "show_not_found": HoldRefusalReason.SHOW_STARTED,
    "unknown_seats": HoldRefusalReason.UNKNOWN_SEAT,
}

IsLive = Callable[[int, str], Awaitable[bool]]  # (show id, hold token) -> is that hold still live?
EndBy = Callable[[Hold, int], Awaitable[Hold]]  # (hold, end ms) -> the hold, ending by then at the latest


def reference_of(token: str) -> str:
    """A stable name for a hold at the theatre that does not reveal the hold's token."""
    return hashlib.sha256(token.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class OurLock:
    """A lock we hold at a theatre for one hold of ours."""

    token: str
    user_id: int
    lock_id: str
    expires_ms: int  # when the hold ends: never after the theatre's lock
    seat_ids: tuple[int, ...]
    amount_minor: int | None = None  # the theatre's price of the seats, fixed for this lock
    currency: str | None = None

    def encode(self) -> str:
        """The record stored in `theatre_locks`."""
        fields = {
            "user": self.user_id,
            "lock": self.lock_id,
            "exp": self.expires_ms,
            "seats": self.seat_ids,
            "amount": self.amount_minor,
            "currency": self.currency,
        }
        return json.dumps(fields)

    @classmethod
    def decode(cls, token: str | bytes, text: str | bytes) -> OurLock:
        """A record read back from `theatre_locks`."""
        fields = json.loads(text)
        token = token.decode() if isinstance(token, bytes) else token
        return cls(
            token,
            int(fields["user"]),
            str(fields["lock"]),
            int(fields["exp"]),
            tuple(fields["seats"]),
            fields.get("amount"),
            fields.get("currency"),
        )


class TheatreHolds:
    """Our side of every connected theatre: which shows are theirs, their seat status, our locks there.

    `systems` maps a Cinema.system name to its TheatreSystem; a connected cinema whose system is not
    configured counts as unavailable (never as local). `commit_deadline` is how long a paid booking
    waits for its theatre before it is refunded (used by booking_core.bookings.theatre_sale).
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        shows: ConnectedShows,
        systems: Mapping[str, TheatreSystem],
        *,
        status_seconds: float = 1.0,
        commit_deadline: timedelta = timedelta(minutes=30),
        lock_recovery_seconds: float = LOCK_RECOVERY_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.shows = shows
        self.lock_recovery_seconds = lock_recovery_seconds
        self._recoveries: set[asyncio.Task[None]] = set()
        self.systems = dict(systems)
        self.commit_deadline = commit_deadline
        self.status = TheatreStatus(redis, status_seconds=status_seconds)
        self._redis = redis
        self._clock = clock

    async def connected(self, show_id: int) -> ConnectedShow | None:
        """The show as its theatre knows it, or None for a local cinema's show."""
        return await self.shows.get(show_id)

    def system(self, name: str) -> TheatreSystem:
        """The theatre system called `name`; TheatreUnavailable when it is not configured here."""
        system = self.systems.get(name)
        if system is None:
            raise TheatreUnavailable("not_configured", f"no THEATRE_SYSTEMS entry for {name!r}")
        return system

    # -- the seat map ----------------------------------------------------------------------------

    async def merge(self, show: ConnectedShow, seat_map: SeatMap) -> SeatMap:
        """Our Redis view of the show with the theatre's sold and locked seats laid over it."""
        try:
            status = await self.status.of(show, self.system(show.system))
        except TheatreError as exc:
            log.info("theatre %s: seat map of show %s unavailable: %s", show.system, show.show_id, exc)
            return replace(seat_map, unavailable_reason=THEATRE_UNAVAILABLE)
        # `locked` includes our own locks: their seats are shown as our holds show them. A record long
        # past its hold's expiry no longer counts (the theatre let its lock go by itself).
        recent = self._clock() * 1000 - FORGOTTEN_AFTER_MS
        locks = (await self._locks(show.show_id)).values()
        ours = {seat for lock in locks if lock.expires_ms > recent for seat in lock.seat_ids}
        states = dict(seat_map.states)
        for seat in show.ids_of(status.sold):
            if seat in states:
                states[seat] = SeatState.SOLD
        for seat in show.ids_of(status.locked):
            if seat not in ours and states.get(seat) not in (None, SeatState.SOLD, SeatState.YOURS):
                states[seat] = SeatState.HELD
        return replace(seat_map, states=states)

    # -- our locks ----------------------------------------------------------------------------------

    async def lock_hold(self, show: ConnectedShow, hold: Hold, is_live: IsLive) -> HoldRefused | OurLock:
        """Lock the hold's seats at the theatre until the hold expires: our lock, or why not (which seats).

        The lock's end (`expires_ms`) may come before the hold's, when the theatre granted less time.

        The user's earlier locks for the show go: the new hold replaced that selection. One holding
        seats of the new selection (the usual case: a seat added or dropped) is released first; others
        are released while the new lock is being taken.
        """
        labels = show.labels_of(hold.seat_ids)
        if labels is None:
            unknown = tuple(seat for seat in hold.seat_ids if seat not in show.labels)
            return HoldRefused(HoldRefusalReason.UNKNOWN_SEAT, unknown)
        if await self.status.is_down(show.system):
            return HoldRefused(HoldRefusalReason.THEATRE_UNAVAILABLE)
        wanted = set(hold.seat_ids)
        earlier = [
            lock
            for lock in (await self._locks(show.show_id)).values()
            if lock.user_id == hold.user_id and lock.token != hold.token
        ]
        for lock in earlier:
            if wanted & set(lock.seat_ids):
                await self._drop(show, lock)
        apart = [lock for lock in earlier if not wanted & set(lock.seat_ids)]
        releasing = asyncio.gather(*(self._drop(show, lock) for lock in apart))
        try:
            return await self._lock(show, hold, labels, is_live)
        finally:
            await releasing

    async def _lock(
        self, show: ConnectedShow, hold: Hold, labels: tuple[str, ...], is_live: IsLive
    ) -> HoldRefused | OurLock:
        seconds = math.ceil(hold.expires_at.timestamp() - self._clock())
        # A second more than the hold: the theatre rounds its expiry down to whole seconds.
        ttl = min(max(1, seconds + 1), MAX_LOCK_SECONDS)
        reference = f"marquee-hold-{reference_of(hold.token)}"
        for attempt in range(2):
            request = _LockRequest(show.theatre_show_id, labels, ttl, reference, f"{reference}-{attempt}")
            try:
                granted, replayed = await self._ask_lock(show, request, self.lock_recovery_seconds)
            except SeatsUnavailable as refused:
                # A lock of ours whose hold is gone (a double tap, a lost release) may be in the way.
                if attempt == 0 and await self._drop_dangling(show, refused.seats, hold.token, is_live):
                    continue
                metrics.THEATRE_LOCKS.labels(system=show.system, result="taken").inc()
                # Sold at the box office (not yet on our map) is "sold", not "taken by someone".
                sold_only = bool(refused.seats) and set(refused.sold) == set(refused.seats)
                why = HoldRefusalReason.SEAT_SOLD if sold_only else HoldRefusalReason.SEAT_TAKEN
                return HoldRefused(why, show.ids_of(refused.seats))
            except TheatreRejected as rejected:
                reason = _LOCK_REFUSALS.get(rejected.reason)
                metrics.THEATRE_LOCKS.labels(system=show.system, result="rejected").inc()
                if reason is None:
                    log.error(
                        "theatre %s refused a lock for show %s: %s", show.system, show.show_id, rejected
                    )
                return HoldRefused(reason or HoldRefusalReason.THEATRE_UNAVAILABLE)
            except TheatreUnavailable as down:
                log.info("theatre %s: no lock for show %s: %s", show.system, show.show_id, down)
                metrics.THEATRE_LOCKS.labels(system=show.system, result="unavailable").inc()
                await self.status.note_down(show.system)
                if isinstance(down, LockAnswerLost):
                    self._recover_later(show, request)
                return HoldRefused(HoldRefusalReason.THEATRE_UNAVAILABLE)
            if replayed and not await is_live(show.show_id, hold.token):
                # Learned only after the hold was given up (a slow theatre): the lock goes back at once.
                await self.release_lock(show, granted.lock_id)
                return HoldRefused(HoldRefusalReason.THEATRE_UNAVAILABLE)
            metrics.THEATRE_LOCKS.labels(system=show.system, result="locked").inc()
            await self.status.note_up(show.system)
            # The hold ends no later than the theatre's lock (a theatre may grant less time than asked).
            ends_ms = min(_ms(hold), int(granted.expires_at.timestamp() * 1000))
            ours = OurLock(
                hold.token,
                hold.user_id,
                granted.lock_id,
                ends_ms,
                tuple(hold.seat_ids),
                granted.amount_minor,
                granted.currency,
            )
            key = self._key(show.show_id, LOCKS_KEY)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, hold.token, ours.encode())
                pipe.pexpire(key, LOCK_RECORDS_TTL_MS)
                await pipe.execute()
            await self.status.forget(show.show_id)
            return ours
        return HoldRefused(HoldRefusalReason.SEAT_TAKEN)  # not reached: the second attempt returns

    async def _ask_lock(
        self, show: ConnectedShow, request: _LockRequest, within: float, *, sent: bool = False
    ) -> tuple[Lock, bool]:
        """The theatre's lock, and whether it took a replay; while its answer may have been lost, the same
        key is replayed for `within` s.

        The theatre keeps the answer of a key, so a replay hands over the lock a slow or garbled answer
        was carrying (or `409 request_in_progress` while the first request still runs: asked again).
        Raises LockAnswerLost when the request may have been done (`sent`) but no answer was learned.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        pause = REPLAY_PAUSE_SECONDS
        replayed = False
        while True:
            try:
                return await self.system(show.system).lock(*request), replayed
            except TheatreUnavailable as down:
                sent = sent or down.reason in ANSWER_MAY_BE_LOST
                if not sent:
                    raise
                if loop.time() + pause >= deadline:
                    raise LockAnswerLost(down.reason, str(down)) from down
                log.info("theatre %s: lock answer lost (%s), asking again", show.system, down.reason)
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_REPLAY_PAUSE_SECONDS)
            replayed = True

    def _recover_later(self, show: ConnectedShow, request: _LockRequest) -> None:
        """Keep replaying a lock request whose answer never came, and release the lock it learns.

        Bounded by the lock's own time: by then the theatre has let it go by itself.
        """
        task = asyncio.create_task(self._release_lost_lock(show, request))
        self._recoveries.add(task)
        task.add_done_callback(self._recoveries.discard)

    async def _release_lost_lock(self, show: ConnectedShow, request: _LockRequest) -> None:
        try:
            lock, _ = await self._ask_lock(show, request, request.ttl_seconds, sent=True)
        except TheatreError as exc:
            log.info("theatre %s: lock %s not learned: %s", show.system, request.idempotency_key, exc)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + request.ttl_seconds
        while not await self.release_lock(show, lock.lock_id, ask_if_down=True):
            if loop.time() + MAX_REPLAY_PAUSE_SECONDS >= deadline:
                return
            await asyncio.sleep(MAX_REPLAY_PAUSE_SECONDS)
        log.info("theatre %s: lock %s of a refused hold released", show.system, lock.lock_id)

    async def settle_recoveries(self) -> None:
        """Wait for the locks being learned after lost answers to be released (tests, shutdown)."""
        while self._recoveries:
            await asyncio.gather(*list(self._recoveries), return_exceptions=True)

    async def close(self) -> None:
        """Stop learning lost locks (at shutdown; the theatre lets them lapse by themselves)."""
        for task in list(self._recoveries):
            task.cancel()
        await asyncio.gather(*list(self._recoveries), return_exceptions=True)

    async def release_hold(self, show: ConnectedShow, token: str) -> None:
        """The hold `token` is gone: release its lock at the theatre (best effort; it lapses anyway)."""
        lock = await self.lock_of(show.show_id, token)
        if lock is not None:
            await self._drop(show, lock)

    async def committed(self, show_id: int, token: str) -> None:
        """The hold `token` was sold: its lock became the theatre's sale, so only our record goes."""
        await self._redis.hdel(self._key(show_id, LOCKS_KEY), token)
        await self.status.forget(show_id)

    async def lock_of(self, show_id: int, token: str) -> OurLock | None:
        """Our lock for the hold `token`, if we took one (it may have lapsed since)."""
        record = await self._redis.hget(self._key(show_id, LOCKS_KEY), token)
        return None if record is None else OurLock.decode(token, record)

    async def release_expired(self, show: ConnectedShow, now_ms: int) -> int:
        """Release the locks of holds that expired by `now_ms`; returns how many."""
        lapsed = [lock for lock in (await self._locks(show.show_id)).values() if lock.expires_ms <= now_ms]
        for lock in lapsed:
            await self._drop(show, lock)
        return len(lapsed)

    async def release_lock(self, show: ConnectedShow, lock_id: str, *, ask_if_down: bool = False) -> bool:
        """Release one lock at the theatre; False (logged) if the theatre could not be told.

        A theatre known to be down is not even asked (unless `ask_if_down`): the sweeper and the users'
        releases must not wait on it (its lock lapses by itself; our record stays for a later try).
        """
        if not ask_if_down and await self.status.is_down(show.system):
            return False
        try:
            await self.system(show.system).release(lock_id)
        except TheatreUnavailable as exc:
            log.warning("theatre %s: lock %s not released yet: %s", show.system, lock_id, exc)
            await self.status.note_down(show.system)
            return False
        except TheatreRejected as exc:
            # Committed (the sale goes on) or unknown there: either way nothing is left to release.
            log.info("theatre %s: lock %s not released: %s", show.system, lock_id, exc)
        if ask_if_down:
            await self.status.note_up(show.system)  # it answered: holds need not wait any longer
        await self.status.forget(show.show_id)
        return True

    async def _locks(self, show_id: int) -> dict[str, OurLock]:
        records = await self._redis.hgetall(self._key(show_id, LOCKS_KEY))
        locks = (OurLock.decode(token, record) for token, record in records.items())
        return {lock.token: lock for lock in locks}

    async def _drop(self, show: ConnectedShow, lock: OurLock) -> bool:
        # The record stays until the theatre has let the lock go, so that a release lost to an outage
        # is done later: by the sweep, or by the next hold its lock stands in the way of.
        if not await self.release_lock(show, lock.lock_id):
            return False
        await self._redis.hdel(self._key(show.show_id, LOCKS_KEY), lock.token)
        return True

    async def _drop_dangling(
        self, show: ConnectedShow, labels: Sequence[str], token: str, is_live: IsLive
    ) -> bool:
        refused = set(show.ids_of(labels))
        dropped = False
        for lock in (await self._locks(show.show_id)).values():
            in_the_way = lock.token != token and refused & set(lock.seat_ids)
            if in_the_way and not await is_live(show.show_id, lock.token):
                dropped = await self._drop(show, lock) or dropped
        return dropped

    @staticmethod
    def _key(show_id: int, name: str) -> str:
        return ShowKeys(show_id).key(name)


class LockAnswerLost(TheatreUnavailable):
    """A lock request may have been done at the theatre, but its answer was not learned in time."""


class _LockRequest(NamedTuple):
    """The arguments of one TheatreSystem.lock call, replayed as they are."""

    show_external_id: str
    seats: tuple[str, ...]
    ttl_seconds: int
    reference: str
    idempotency_key: str


def _ms(hold: Hold) -> int:
    return int(hold.expires_at.timestamp() * 1000)


class OfferLocking:
    """An EventSink that locks a waitlist offer's seats at the theatre before the waiter is told.

    A refused lock leaves the offer standing without one: paying for it then locks the seats again
    (booking_core.bookings.theatre_sale), and a seat the theatre sold meanwhile means a refund. A lock
    shorter than the offer ends the offer with it (`end_by`), and the waiter is told that deadline.
    """

    def __init__(self, inner: EventSink, theatre: TheatreHolds, is_live: IsLive, end_by: EndBy) -> None:
        self._inner = inner
        self._theatre = theatre
        self._is_live = is_live
        self._end_by = end_by

    async def publish(self, event: Event) -> None:
        """Lock the seats of an offer of a connected show, then pass the event on."""
        if isinstance(event, OfferMade):
            try:
                event = await self._lock_offer(event)
            except Exception:
                log.warning(
                    "show %s: offer to %s not locked at the theatre",
                    event.show_id,
                    event.user_id,
                    exc_info=True,
                )
        await self._inner.publish(event)

    async def _lock_offer(self, offer: OfferMade) -> OfferMade:
        show = await self._theatre.connected(offer.show_id)
        if show is None:
            return offer
        hold = Hold(offer.hold_token, offer.show_id, offer.user_id, offer.seat_ids, offer.expires_at, True)
        locked = await self._theatre.lock_hold(show, hold, self._is_live)
        if isinstance(locked, HoldRefused):
            log.warning("show %s: the theatre refused the offer's seats: %s", offer.show_id, locked)
            return offer
        return replace(offer, expires_at=(await self._end_by(hold, locked.expires_ms)).expires_at)
