"""The on-sale queue against a small reference model of its rules (README.md, "On-sale queue"), driven by
hypothesis through random joins, passes of the clock, worker passes and hold attempts.

After every step the real system (Redis + SQL through HoldStore and the workers' pass) must agree with
the model on who was admitted, in which order, and who may hold seats. The model draws the opening order
with the recorded seed through `shuffled`, the Python twin of the script's draw.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from booking_core.events import TurnCame
from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.sale_queue import Joined, JoinRefused, shuffled
from booking_core.holds.sale_queue_audit import audit_log
from booking_core.holds.store import Hold, HoldStore
from roles.redis_server import RedisEndpoint
from tests.factories import make_show
from tests.holds.model_runs import SystemMachine, run_model
from workers.periodic import admit_queues_once

USERS = st.integers(1, 8)
TURNS, TURN_S, OPENS_IN = 2, 60, 100
RATE = 0.5  # admissions a second: the bucket holds one, refilled every 2 s
SEEN: Counter[str] = Counter()


@dataclass
class Model:
    """The README's rules, as plainly as they can be written."""

    opens: float
    arrivals: list[int] = field(default_factory=list)  # everyone in the order they first joined
    early: list[int] = field(default_factory=list)  # joined before the sale opened (drawn at random)
    late: list[int] = field(default_factory=list)  # joined after on_sale_at, before the opening pass
    line: list[int] = field(default_factory=list)  # after opening: the queue, front first
    opened: bool = False
    done: bool = False
    turns: dict[int, float] = field(default_factory=dict)  # user -> window end, open turns only
    admitted: list[int] = field(default_factory=list)
    held_once: set[int] = field(default_factory=set)  # users who held seats at some point
    tokens: float | None = None  # the admission rate's bucket, None until the first pass after opening
    tokens_ms: int = 0

    def admissions_allowed(self, now_ms: int) -> int:
        """How many the rate lets in now: at most one second's worth (and one), refilled at RATE."""
        most = max(1.0, RATE)
        if self.tokens is not None:
            most = min(most, self.tokens + RATE * max(0, now_ms - self.tokens_ms) / 1000)
        self.tokens, self.tokens_ms = most, max(self.tokens_ms, now_ms)
        return math.floor(most)

    def queued(self, user: int) -> bool:
        return user in self.early or user in self.late or user in self.line


class QueueMachine(SystemMachine):
    """One premiere per example; every rule acts on the real system and on the model alike."""

    def __init__(self) -> None:
        super().__init__()
        self.clock.now = float(int(self.clock.now))  # whole seconds: the rate's bucket is exact in ms
        self.store = HoldStore(
            self.redis,
            SqlInventory(self.sessions),
            self.sink,
            clock=self.clock,
            attempts_per_minute=10**6,
            queue_turns=TURNS,
            queue_turn_seconds=TURN_S,
            queue_admissions_per_second=RATE,
        )
        opens = datetime.fromtimestamp(self.clock.now, tz=UTC) + timedelta(seconds=OPENS_IN)
        show = self.run(make_show(self.sessions, rows=2, seats_per_row=8, on_sale_at=opens, sale_queue=True))
        self.show, self.seats = show.show_id, show.seat_ids
        self.model = Model(opens=self.clock.now + OPENS_IN)

    @rule(user=USERS, party=st.integers(1, 4))
    def join(self, user: int, party: int) -> None:
        result = self.run(self.store.sale_queue.join(self.show, user, party))
        m = self.model
        if user in m.admitted:
            assert isinstance(result, Joined) and not result.joined
            return
        if m.done:
            assert result == JoinRefused("done")
            return
        assert isinstance(result, Joined)
        assert result.joined == (not m.queued(user))
        if not m.queued(user):
            m.arrivals.append(user)
            if m.opened:
                m.line.append(user)
                SEEN["joined after opening"] += 1
            elif self.clock.now >= m.opens:
                m.late.append(user)
                SEEN["late before the opening pass"] += 1
            else:
                m.early.append(user)
        else:
            SEEN["joined again"] += 1
        assert result.position == (m.line.index(user) + 1 if m.opened else None)

    @rule(seconds=st.sampled_from([1, 20, 59, 61, 120]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule()
    def worker_pass(self) -> None:
        now = datetime.fromtimestamp(self.clock.now, tz=UTC)
        before = len(self.sink.events)
        self.run(admit_queues_once(self.sessions, self.store.sale_queue, now))
        # (Earlier examples' shows are in the database too: their queues, their events.)
        admitted = [
            e.user_id for e in self.sink.events[before:] if isinstance(e, TurnCame) and e.show_id == self.show
        ]
        m = self.model
        if self.clock.now < m.opens or m.done:
            assert admitted == []
            return
        if not m.opened:
            opened = [row for row in self.run(audit_log(self.sessions, self.show)) if row.kind == "opened"]
            assert len(opened) == 1 and opened[0].seed is not None
            drawn = shuffled([str(u) for u in m.early], opened[0].seed)
            assert opened[0].detail == ",".join(drawn)
            m.line = [int(u) for u in drawn] + m.late
            m.early, m.late, m.opened = [], [], True
            SEEN["opened"] += 1
        m.turns = {u: end for u, end in m.turns.items() if end > self.clock.now}
        allowed = m.admissions_allowed(int(self.clock.now * 1000))
        expected = []
        while m.line and len(m.turns) < TURNS and len(expected) < allowed:
            user = m.line.pop(0)
            m.turns[user] = self.clock.now + TURN_S
            expected.append(user)
        assert admitted == expected
        m.admitted += expected
        assert m.tokens is not None
        m.tokens -= len(expected)
        if expected and len(m.turns) == TURNS:
            SEEN["cap reached"] += 1
        if m.line and len(m.turns) < TURNS and not expected:
            SEEN["held back by the rate"] += 1
        if not m.line:
            m.done = True
            SEEN["queue done"] += 1

    @rule(user=USERS, seat=st.integers(0, 15))
    def try_to_hold(self, user: int, seat: int) -> None:
        result = self.run(self.store.hold(self.show, user, [self.seats[seat]]))
        m = self.model
        if self.clock.now < m.opens:
            assert result == HoldRefused(HoldRefusalReason.NOT_ON_SALE_YET)
            return
        if user in m.held_once:
            # Their own live hold lets them re-pick whatever the queue does; the model does not follow
            # holds' lifetimes, so it asks nothing more of this user.
            if isinstance(result, Hold):
                SEEN["held again"] += 1
            return
        gated = not m.done and not m.turns.get(user, 0) > self.clock.now
        if gated:
            # Includes the moment between on_sale_at and the opening pass: the queue has not drawn yet.
            assert result == HoldRefused(HoldRefusalReason.NOT_YOUR_TURN)
            SEEN["refused: not your turn"] += 1
            return
        if isinstance(result, Hold):
            m.held_once.add(user)
            SEEN["held in a turn" if not m.done else "held after the queue"] += 1
        else:
            assert result.reason == HoldRefusalReason.SEAT_TAKEN, result

    @precondition(lambda self: any(end > self.clock.now for end in self.model.turns.values()))
    @rule(data=st.data(), seat=st.integers(0, 15))
    def admitted_person_holds(self, data: st.DataObject, seat: int) -> None:
        """Someone whose turn is open picks a seat (the usual next step after the turn message)."""
        open_turns = sorted(user for user, end in self.model.turns.items() if end > self.clock.now)
        self.try_to_hold(data.draw(st.sampled_from(open_turns)), seat)

    @invariant()
    def nobody_twice(self) -> None:
        admitted = [e.user_id for e in self.sink.events if isinstance(e, TurnCame) and e.show_id == self.show]
        assert len(admitted) == len(set(admitted)) and admitted == self.model.admitted


def test_the_queue_follows_its_rules(redis_endpoint: RedisEndpoint, database_url: str) -> None:
    run_model(QueueMachine, redis_endpoint, database_url, max_examples=40, step_count=30)
    cases = ("opened", "joined after opening", "cap reached", "queue done", "refused: not your turn")
    for case in (*cases, "held back by the rate"):
        assert SEEN[case], SEEN
    assert SEEN["held in a turn"], SEEN
