"""A premiere's on-sale queue in Redis (README: "On-sale queue"): join, open, admit, position.

Every step is one Lua script over the show's keys (`redis_keys.SALE_QUEUE_KEYS`, in its `{show:<id>}`
slot); nothing lives in process memory. The hold scripts obey the queue through `sale_gate` in `_lib.lua`.
Admission is the workers' periodic pass (`admit`); bots only join people and read positions.
A user's turns across shows are capped by a claim in their own slot (`turn_claim.lua`), taken before the
show's admit script runs: one claim per admission step, ending exactly when the turn it buys ends, given
back only by the step that took it, so the cap is exact (it may only err towards fewer turns, never more).
A step's claims go out in one pipeline, and are cut or given back in another (the users' keys are in
other slots than the show's: on a Redis Cluster the pipeline is split by node): a step costs five round
trips however many people it admits.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from booking_core.events import EventSink, QueueMoved, QueueSoldOut, TurnCame
from booking_core.holds.scripts import ShowScripts, as_list
from booking_core.holds.types import from_ms
from booking_core.redis_keys import ShowKeys, user_turns_key

# How often a queued user's place is refreshed on their screen, and how many places one pass refreshes.
REFRESH_MS = 60_000
REFRESH_PER_PASS = 100
# An opening with no audit row this long after it (its opener died between Redis and SQL) is recorded
# by a later pass; one pass at a time does that, under a lease of LOG_LEASE_MS.
UNLOGGED_GRACE_MS = 10_000
# A turn claim is taken to outlast the window it buys by this much (the admission step's own latency),
# then cut to the turn's end once the step knows it.
CLAIM_SLACK_MS = 10_000
LOG_LEASE_MS = 30_000
# The Park-Miller generator of sale_queue_open.lua: seeds are 1 .. MODULUS - 1.
MODULUS = 2_147_483_647
MULTIPLIER = 48_271


def shuffled(users: Sequence[str], seed: int) -> list[str]:
    """The opening draw of sale_queue_open.lua, in Python: `users` in arrival order, shuffled by `seed`.

    An auditor recomputes the recorded order from the recorded seed and the arrival order with this.
    """
    order = list(users)
    x = seed
    for i in range(len(order), 1, -1):
        x = (x * MULTIPLIER) % MODULUS
        j = x % i  # 0-based: the script's (x % i) + 1
        order[i - 1], order[j] = order[j], order[i - 1]
    return order


@dataclass(frozen=True)
class QueueSpot:
    """Where a user stands in a show's on-sale queue."""

    phase: str | None  # None before opening, then "open", "done" (normal selling) or "sold_out"
    on_sale_ms: int
    queued: bool
    position: int | None  # 1 = next; None before the draw or when not queued
    turn_ends_ms: int | None  # their turn window, when admitted and still open
    admitted: bool
    served: int  # people admitted since opening
    opened_ms: int | None
    open_turns: int


@dataclass(frozen=True)
class Joined:
    """The outcome of joining: the place (None before the draw), or the turn already given."""

    joined: bool  # False: they were already queued (the place is kept)
    position: int | None
    turn_ends_ms: int | None = None


@dataclass(frozen=True)
class JoinRefused:
    """Joining was refused: "no_queue", "show_started", "too_many_seats", "done" or "sold_out"."""

    reason: str


@dataclass
class AdmitReport:
    """What one admission step did for one show."""

    phase: str | None = None
    opened: tuple[str, ...] | None = None  # the drawn order, when this step opened the queue
    seed: int | None = None
    admitted: list[tuple[int, int, int]] = field(default_factory=list)  # (user, place, window end ms)
    sold_out: list[tuple[int, int]] = field(default_factory=list)  # (user, party)
    redis_calls: int = 0


def wait_minutes(
    spot: QueueSpot,
    *,
    now_ms: int,
    turns_cap: int,
    turn_seconds: int,
    admissions_per_second: float | None = None,
) -> int | None:
    """An honest estimate of minutes until the user's turn, from the admissions seen since opening.

    With too little history (under a minute, or nobody admitted yet) it assumes every turn runs its whole
    window, the slowest the queue can move while people keep choosing; never sooner than the admission
    rate (if any) lets everyone ahead in. None when it cannot be said.
    """
    if spot.position is None:
        return None
    ahead = spot.position - 1
    slow_rate = turns_cap / turn_seconds  # admissions per second with every window used in full
    rate = slow_rate
    if spot.opened_ms is not None and spot.served > 0 and now_ms - spot.opened_ms >= 60_000:
        rate = max(slow_rate, spot.served / ((now_ms - spot.opened_ms) / 1000))
    free_now = max(0, turns_cap - spot.open_turns)
    seconds = max(0, ahead - free_now) / rate
    if admissions_per_second:
        seconds = max(seconds, ahead / admissions_per_second)
    return math.ceil(seconds / 60)


class SaleQueue:
    """The on-sale queues of every show, over the show scripts of the hold store."""

    def __init__(
        self,
        shows: ShowScripts,
        events: EventSink,
        *,
        max_seats: int,
        turns: int,
        turn_seconds: int,
        turns_per_user: int,
        admissions_per_second: float | None = None,
    ) -> None:
        self._shows = shows
        self._events = events
        self._max_seats = max_seats
        self.turns = turns
        self.turn_seconds = turn_seconds
        self._turns_per_user = turns_per_user
        # None: only the turn cap paces admissions.
        self.admissions_per_second = admissions_per_second

    async def _run(self, name: str, show_id: int, args: Sequence[str | int]) -> dict[str, Any]:
        keys = ShowKeys(show_id).sale_queue()
        return await self._shows.run(name, show_id, args, now_ms=self._shows.now_ms(), extra_keys=keys)

    async def join(self, show_id: int, user_id: int, party: int) -> Joined | JoinRefused:
        """Take a place in the show's queue for `party` seats (again: the place is kept)."""
        reply = await self._run("sale_queue_join", show_id, [user_id, party, self._max_seats, REFRESH_MS])
        if "refused" in reply:
            return JoinRefused(reply["refused"])
        if "turn_ends" in reply:
            return Joined(False, None, int(reply["turn_ends"]) or None)
        return Joined(bool(reply["joined"]), reply["position"] or None)

    async def spot(self, show_id: int, user_id: int) -> QueueSpot:
        """The user's place and the queue's progress."""
        reply = await self._run("sale_queue_position", show_id, [user_id])
        return QueueSpot(
            phase=reply["phase"] or None,
            on_sale_ms=int(reply["on_sale_ms"]),
            queued=bool(reply["queued"]),
            position=reply["position"] or None,
            turn_ends_ms=int(reply["turn_ends"]) if reply["turn_ends"] else None,
            admitted=bool(reply["admitted"]),
            served=int(reply["served"]),
            opened_ms=int(reply["opened_ms"]) if reply["opened_ms"] else None,
            open_turns=int(reply["open_turns"]),
        )

    async def admit(self, show_id: int) -> AdmitReport:
        """One admission step: open the queue when due, then admit up to the turn cap, or end it.

        Publishes TurnCame for each person admitted and QueueSoldOut for each person still queued at a
        sell-out. Any number of workers may run it at once: each script is atomic and admits nobody twice.
        """
        report = AdmitReport()
        keys = ShowKeys(show_id).sale_queue()
        state_key, turns_key, line_key = keys[0], keys[1], keys[2]
        now_ms = self._shows.now_ms()
        async with self._shows.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(state_key, "phase", "seed", "logged", "opened_ms")
            pipe.zcount(turns_key, f"({now_ms}", "+inf")
            pipe.zrange(line_key, 0, 2 * self.turns - 1)
            (phase, seed, logged, opened_ms), open_turns, front = await pipe.execute()
        report.redis_calls += 1
        if seed is not None and logged != seed and now_ms - int(opened_ms) >= UNLOGGED_GRACE_MS:
            report.redis_calls += await self._unlogged_opening(show_id, int(seed), report)
        if phase is None:
            seed = 1 + secrets.randbelow(MODULUS - 1)
            opened = await self._run("sale_queue_open", show_id, [seed])
            report.redis_calls += 1
            if "drawn" in opened:
                report.opened, report.seed = tuple(as_list(opened["drawn"])), seed
            elif opened.get("already") != "open":
                return report  # not due, or over: a racing step that opened it admits meanwhile
            front = await self._shows.redis.zrange(line_key, 0, 2 * self.turns - 1)
            report.redis_calls += 1
        elif phase in (b"done", b"sold_out", "done", "sold_out"):
            report.phase = phase.decode() if isinstance(phase, bytes) else phase
            return report
        room = max(0, self.turns - int(open_turns))
        if self.admissions_per_second:
            # The admit script's rate bucket never holds more than this (sale_queue_admit.lua).
            room = min(room, math.floor(max(1, self.admissions_per_second)))
        # A few more than there is room for, so that people at their turn cap elsewhere (who keep their
        # place) do not hold up those behind them; claims not needed are given back below.
        candidates = [int(user) for user in front[: room + math.ceil(room / 4)]]
        token = secrets.token_hex(8)  # this step's claims are "<show>:<token>" (turn_claim.lua)
        window_ms = self.turn_seconds * 1000
        claim_ends_ms = now_ms + window_ms + CLAIM_SLACK_MS
        claimed = await self._claim(show_id, token, candidates, now_ms, claim_ends_ms)
        report.redis_calls += 1 if candidates else 0
        per_second = str(self.admissions_per_second or 0)
        args: list[str | int] = [self.turns, window_ms, claim_ends_ms, per_second, *claimed]
        reply = await self._run("sale_queue_admit", show_id, args)
        report.redis_calls += 1
        report.phase = reply["phase"] or None
        report.admitted = [(int(u), int(place), int(ends)) for u, place, ends in as_list(reply["admitted"])]
        report.redis_calls += await self._settle_claims(show_id, token, claimed, report.admitted)
        report.sold_out = [(int(u), int(party)) for u, party in as_list(reply["sold_out"])]
        for user, _place, ends in report.admitted:
            await self._events.publish(TurnCame(show_id, user, from_ms(ends)))
        for user, party in report.sold_out:
            await self._events.publish(QueueSoldOut(show_id, user, party))
        if report.phase == "open":
            report.redis_calls += await self._refresh(show_id)
        return report

    async def _unlogged_opening(self, show_id: int, seed: int, report: AdmitReport) -> int:
        """Put an opening whose audit row was never written (its seed and drawn order, from sq_state) in
        `report`, for this pass to record, unless another pass holds the lease to; the Redis calls made."""
        keys = ShowKeys(show_id)
        if not await self._shows.redis.set(keys.key("sq_log_lease"), 1, nx=True, px=LOG_LEASE_MS):
            return 1
        drawn = await self._shows.redis.hget(keys.sale_queue()[0], "drawn")
        text = drawn.decode() if isinstance(drawn, bytes) else drawn or ""
        report.opened, report.seed = tuple(text.split(",")) if text else (), seed
        return 2

    async def logged(self, show_id: int, seed: int) -> None:
        """Note that the opening drawn with `seed` has its audit row in SQL (no later pass writes it)."""
        await self._shows.redis.hset(ShowKeys(show_id).sale_queue()[0], "logged", seed)

    async def _refresh(self, show_id: int) -> int:
        """Publish QueueMoved for the queued users whose place is due a refresh; the Redis calls made."""
        reply = await self._run("sale_queue_due", show_id, [REFRESH_MS, REFRESH_PER_PASS])
        now_ms = self._shows.now_ms()
        for user, position in as_list(reply["due"]):
            spot = QueueSpot(
                phase="open",
                on_sale_ms=0,
                queued=True,
                position=int(position),
                turn_ends_ms=None,
                admitted=False,
                served=int(reply["served"]),
                opened_ms=int(reply["opened_ms"]) if reply["opened_ms"] else None,
                open_turns=int(reply["open_turns"]),
            )
            wait = wait_minutes(
                spot,
                now_ms=now_ms,
                turns_cap=self.turns,
                turn_seconds=self.turn_seconds,
                admissions_per_second=self.admissions_per_second,
            )
            await self._events.publish(QueueMoved(show_id, int(user), int(position), wait or 0))
        return 1

    async def _claim(
        self, show_id: int, token: str, users: list[int], now_ms: int, ends_ms: int
    ) -> list[int]:
        """The users granted this step's turn claim (ending at ends_ms) under their cap across shows
        (turn_claim.lua, one call per user, all in one pipeline), in order."""
        args: list[str | int] = [now_ms, show_id, ends_ms, self._turns_per_user, token]
        granted = await self._shows.scripts.call_many(
            "turn_claim", [([user_turns_key(user)], args) for user in users]
        )
        return [user for user, ok in zip(users, granted, strict=True) if int(ok)]

    async def _settle_claims(
        self, show_id: int, token: str, claimed: list[int], admitted: list[tuple[int, int, int]]
    ) -> int:
        """Cut this step's claims to the end of the turns it gave; give back every other one; the Redis
        calls made (one pipeline).

        A claim this step did not admit on is given back even when its user has a turn open here: a
        concurrent step admitted them, and that step's own claim covers the turn to its end. (Kept, it
        would bar them from other shows until it ran out, CLAIM_SLACK_MS past their turn.) A worker dying
        before this leaves its claims CLAIM_SLACK_MS too long: fewer turns for a moment, never more.
        """
        if not claimed:
            return 0
        mine = f"{show_id}:{token}"
        ends_of = {user: ends for user, _place, ends in admitted}
        async with self._shows.redis.pipeline(transaction=False) as pipe:
            for user in claimed:
                if user in ends_of:
                    pipe.zadd(user_turns_key(user), {mine: ends_of[user]}, xx=True)
                else:
                    pipe.zrem(user_turns_key(user), mine)
            await pipe.execute()
        return 1
