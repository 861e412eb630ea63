"""A show's waitlist in Redis: join, leave, position, decline, and the offer step (DESIGN.md section 4).

The rules are in `booking_core.holds.waitlist_policy` (pure) and README.md ("Waitlist policy") (words).
Here they meet Redis: the offer step takes a snapshot with the `sweep` script (which first retires due holds),
plans in Python (best seats need the hall layout), and applies the plan with the `offer` script,
which refuses it whole if the queue or the reserved pool changed meanwhile; then we plan again.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from booking_core.events import EventSink, OfferMade
from booking_core.hall_layout import HallLayout, LayoutRow, LayoutSeat
from booking_core.holds.due_index import register_hints
from booking_core.holds.errors import JoinRefusal, JoinRefused
from booking_core.holds.scripts import ShowScripts, as_list, expiry_events
from booking_core.holds.types import Hold, LayoutSource, from_ms, parse_hold
from booking_core.holds.waitlist_policy import WaitReason, WaitRequest, diagnose, plan_offers
from booking_core.redis_keys import ShowKeys, waiting_shows_key

log = logging.getLogger(__name__)

# Due holds retired per sweep call; a show with more is simply swept again at once.
SWEEP_BATCH = 500
# Offer-step attempts when concurrent changes keep invalidating the plan; each retry follows progress.
PLAN_ATTEMPTS = 8
# How long a user's join of a show's waitlist is remembered across shows (`waiting_shows`).
WAITING_KEPT_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class WaitlistPosition:
    """Where a waiter stands, and the honest reason they have no offer yet."""

    position: int  # 1 = first in line
    ahead: int
    reason: WaitReason
    passed_over: int  # later waiters served first because this request did not fit
    available_seats: int  # seats neither sold nor held (reserved for the waitlist or free)
    largest_block: int  # most of them side by side
    seats: int
    together: bool


@dataclass(frozen=True)
class SweepOutcome:
    """What one offer step did for a show."""

    expired: int
    next_due_ms: int | None


class Waitlist:
    """Waitlists of all shows, over the same Redis scripts as the hold store."""

    def __init__(
        self,
        shows: ShowScripts,
        layouts: LayoutSource | None,
        events: EventSink,
        *,
        offer_seconds: int,
        max_seats: int,
    ) -> None:
        self._shows = shows
        self._layouts = layouts
        self._events = events
        self._offer_ms = offer_seconds * 1000
        self._max_seats = max_seats

    async def join(
        self, show_id: int, user_id: int, seats: int, *, together: bool = False
    ) -> WaitlistPosition | Hold | JoinRefused | None:
        """Queue for `seats` seats; an offer made at once comes back as the offer (None: left meanwhile)."""
        if seats < 1:
            raise ValueError("a waitlist request is for at least one seat")
        now_ms = self._shows.now_ms()
        args: list[str | int] = [user_id, seats, "1" if together else "0", self._max_seats]
        gate = ShowKeys(show_id).sale_queue()[:2]  # the on-sale queue's state and turns
        reply = await self._shows.run("join_waitlist", show_id, args, now_ms=now_ms, extra_keys=gate)
        if "refused" in reply:
            return JoinRefused(JoinRefusal(reply["refused"]))
        await self._note_waiting(user_id, show_id, now_ms)
        await self.settle(show_id)
        position = await self.position(show_id, user_id)
        if position is not None:
            return position
        offer = await self._shows.run("lookup", show_id, ["user", user_id], now_ms=self._shows.now_ms())
        return parse_hold(show_id, offer["token"], offer["record"]) if "token" in offer else None

    async def _note_waiting(self, user_id: int, show_id: int, now_ms: int) -> None:
        # In the user's own slot (a call of its own, one per join): entries older than a day go, and
        # an entry whose wait ended is harmless (its reader looks at the show's own state).
        key = waiting_shows_key(user_id)
        async with self._shows.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {str(show_id): now_ms})
            pipe.zremrangebyscore(key, "-inf", now_ms - WAITING_KEPT_MS)
            pipe.pexpire(key, WAITING_KEPT_MS)
            await pipe.execute()

    async def waiting_shows(self, user_id: int) -> list[int]:
        """The shows whose waitlist the user joined in the last day, from the bot or the Mini App (they may
        have been served or left since): where a waitlist offer of theirs may be."""
        since_ms = self._shows.now_ms() - WAITING_KEPT_MS
        members = await self._shows.redis.zrangebyscore(waiting_shows_key(user_id), since_ms, "+inf")
        return [int(str(member)) for member in members]

    async def leave(self, show_id: int, user_id: int) -> bool:
        """Leave the waitlist; False if the user was not on it."""
        reply = await self._shows.run("leave_waitlist", show_id, [user_id], now_ms=self._shows.now_ms())
        if reply["left"] and reply["waiting"]:
            await self.settle(show_id)
        return bool(reply["left"])

    async def decline(self, show_id: int, user_id: int) -> tuple[int, ...]:
        """Turn down the user's offer: its seats pass to the next waiter. Returns them (empty: no offer)."""
        args: list[str | int] = ["decline", user_id]
        reply = await self._shows.run("release", show_id, args, now_ms=self._shows.now_ms())
        if reply["settle"]:
            await self.settle(show_id)
        return tuple(sorted(int(seat) for seat in as_list(reply["seats"])))

    async def position(self, show_id: int, user_id: int) -> WaitlistPosition | None:
        """The user's place in line and why they have no offer yet; None if not waiting."""
        reply = await self._shows.run("sweep", show_id, [0, "0"], now_ms=self._shows.now_ms())
        snapshot = reply["waitlist"]
        if not snapshot:
            return None
        queue = _queue(snapshot)
        ranks = [i for i, (request, _passed) in enumerate(queue) if request.user_id == user_id]
        if not ranks:
            return None
        request, passed = queue[ranks[0]]
        unavailable = _ints(snapshot["sold"]) | _ints(snapshot["held"])
        layout = await self.layout(show_id)
        why = diagnose(layout, request, unavailable=unavailable, closed=snapshot["closed"])
        return WaitlistPosition(
            position=ranks[0] + 1,
            ahead=ranks[0],
            reason=why.reason,
            passed_over=passed,
            available_seats=why.available_seats,
            largest_block=why.largest_block,
            seats=request.seats,
            together=request.together,
        )

    async def settle(self, show_id: int, now_ms: int | None = None) -> SweepOutcome:
        """Retire the show's due holds, then make every offer the available seats allow (the offer step)."""
        expired = 0
        reply: dict[str, Any] = {}
        for _attempt in range(PLAN_ATTEMPTS):
            at = self._shows.now_ms() if now_ms is None else now_ms
            reply = await self._shows.run("sweep", show_id, [SWEEP_BATCH, "1"], now_ms=at)
            for event in expiry_events(show_id, reply["expired"]):
                expired += 1
                await self._events.publish(event)
            if not reply["waitlist"] or await self._offer(show_id, reply["waitlist"], at):
                break
        else:
            log.warning("show %s: waitlist offers kept conflicting; the next sweep retries", show_id)
        next_due = reply.get("next")
        return SweepOutcome(expired=expired, next_due_ms=int(next_due) if next_due else None)

    async def _offer(self, show_id: int, snapshot: dict[str, Any], now_ms: int) -> bool:
        """Plan and apply one offer step; False if the state moved under us (plan again)."""
        sold = _ints(snapshot["sold"])
        plan = plan_offers(
            await self.layout(show_id),
            [request for request, _passed in _queue(snapshot)],
            reserved=_ints(snapshot["reserved"]),
            unavailable=sold | _ints(snapshot["held"]),
            sold=sold,
            closed=snapshot["closed"],
        )
        if plan.empty:
            return True
        tokens = {offer.user_id: secrets.token_urlsafe(18) for offer in plan.offers}
        args: list[str | int] = [snapshot["version"], self._offer_ms, len(plan.offers)]
        for offer in plan.offers:
            args += [offer.user_id, tokens[offer.user_id], ",".join(map(str, offer.seat_ids))]
        args.append(",".join(map(str, sorted(plan.to_public))))
        reply = await self._shows.run("offer", show_id, args, now_ms=now_ms)
        if reply.get("conflict"):
            return False
        await register_hints(self._shows.scripts, show_id, reply)
        seats = {offer.user_id: offer.seat_ids for offer in plan.offers}
        for user, token, expires_ms in as_list(reply["offers"]):
            made = OfferMade(show_id, int(user), token, seats[int(user)], from_ms(expires_ms))
            await self._events.publish(made)
        return True

    async def layout(self, show_id: int) -> HallLayout:
        """The show's hall layout (from the layout source, else every seat on its own)."""
        if self._layouts is not None:
            layout = await self._layouts.layout(show_id)
            if layout is not None:
                return layout
        # Without a layout source no two seats count as adjacent: offers still work, "together" only for one.
        inventory = await self._shows.inventory.inventory(show_id)
        seats = sorted(inventory.seat_ids) if inventory else []
        lone = tuple(LayoutSeat(seat, str(seat), i + 1, 2 * i, "standard") for i, seat in enumerate(seats))
        return HallLayout(hall_id=0, hall_name="", rows=(LayoutRow(0, "", lone),))


def _ints(values: Any) -> set[int]:
    return {int(value) for value in as_list(values)}


def _queue(snapshot: dict[str, Any]) -> Sequence[tuple[WaitRequest, int]]:
    return [
        (WaitRequest(int(user), int(count), bool(together)), int(passed))
        for user, count, together, passed in as_list(snapshot["queue"])
    ]
