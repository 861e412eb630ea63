"""Benchmark: a premiere rush. N people press "✨2" (best two seats) on the same show at the same instant.

    python -m benchmarks.rush      # embedded Redis and SQLite in a temp dir; RUSH_SIZES (default "100,300")

The bot is assembled as `python main.py run` assembles it (bot.app.build_application with its default
rate limiter, bot/flood_control.py), polling the in-process Telegram sandbox, which here answers 429
with retry_after when one chat gets more than a burst of 3 messages at 1 a second (Telegram's "about
one message a second per chat"; its 30/s is for bulk notifications, so no limit across chats is set).
The demo catalogue is loaded; each size rushes its own show in the biggest hall. Every person first
opens the show's seat map (/start, then the show: not measured) and waits for their chat's budget to
refill; then all press at once. Measured per press: to the outcome (the callback answer, which says
which seats are held or why not) and to the updated screen (the pressed message edited or replaced).
The baseline, in the same run, is an answer-only bot with the same people pressing at once.
People, sandbox and bot share one process and event loop, so both figures include the sandbox's work.
One line per size: RESULT rush_users=N outcome_p50_ms outcome_p99_ms screen_p50_ms screen_p99_ms
http_429 seats_held double_holds refused timeouts picture_edits (screens sent with a newly drawn hall
picture) caption_edits (caption and keyboard only) baseline_p50_ms baseline_p99_ms ratio (baseline p99 / p99)
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from benchmarks.bot import TOKEN, baseline_bot, fresh_stores, newest_with, routes
from booking_core.catalogue import seed_demo
from bot.app import build_application
from bot.codec import Action, encode
from bot.flood_control import RepliesFirst
from bot.notifications import TelegramNotifier
from bot.running import running_bot
from roles.resources import Core, open_core
from roles.settings import MarqueeSettings
from sandbox.telegram import FloodLimits, TelegramSandbox, start_telegram_sandbox
from tests.support.settings import stand_settings

SIZES = [int(size) for size in os.environ.get("RUSH_SIZES", "100,300").split(",")]
COUNT = 2
# The sandbox's per-chat flood control; the bot's limiter does not know these figures.
PER_CHAT_RATE, PER_CHAT_BURST = 1.0, 3
NO_GLOBAL_LIMIT = 1_000_000
STEP_TIMEOUT = 60.0
FIRST_USER = 300_000
OPENING_AT_ONCE = 50


@dataclass
class Rush:
    """What one rush measured (ms)."""

    outcomes_ms: list[float] = field(default_factory=list)
    screens_ms: list[float] = field(default_factory=list)
    timeouts: int = 0


def percentile(values: list[float], share: float) -> float:
    """A percentile of `values` (nan when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def rush_shows(core: Core, count: int) -> list[int]:
    """`count` upcoming shows in the demo's biggest hall."""
    sized = []
    for show_id in {route.show_id for route in await routes(core, 1000)}:
        layout = await core.catalogue.hall_layout(show_id)
        sized.append((-(layout.seat_count if layout else 0), show_id))
    shows = [show_id for _seats, show_id in sorted(sized)[:count]]
    if len(shows) < count:
        raise SystemExit("the demo catalogue has too few upcoming shows")
    return shows


async def open_seat_map(state: TelegramSandbox, user: int, show_id: int) -> int:
    """/start, then the show's seat map; returns the seat map's message id."""
    sent = await state.send_text(user, "/start")
    first = await state.wait_for_bot_message(user, sent.message_id, STEP_TIMEOUT)
    await state.wait_for_callback_answer(
        await state.press(user, first.message_id, encode(Action.SHOW, show_id, 0), forge=True), STEP_TIMEOUT
    )
    best = encode(Action.BEST, show_id, COUNT)
    found = await state.wait_for(user, lambda _chat: newest_with(state, user, best), STEP_TIMEOUT)
    return found[0].message_id


async def press_all(state: TelegramSandbox, maps: dict[int, int], show_id: int, *, screens: bool) -> Rush:
    """Everyone presses ✨2 at once; the outcome and (when `screens`) the screen latency of each press."""
    rush = Rush()
    best = encode(Action.BEST, show_id, COUNT)
    before = {user: state.chat_state(user).messages[message].edit_count for user, message in maps.items()}
    pressed_at = time.monotonic()
    queries = {user: await state.press(user, message, best, forge=True) for user, message in maps.items()}

    async def follow(user: int) -> None:
        try:
            answer = await state.wait_for_callback_answer(queries[user], STEP_TIMEOUT)
        except TimeoutError:
            rush.timeouts += 1
            return
        rush.outcomes_ms.append(answer.seconds_after_press * 1000)
        if not screens:
            return
        chat, message = state.chat_state(user), state.chat_state(user).messages[maps[user]]
        changed = await chat.changed.until(
            lambda: (message.deleted or message.edit_count > before[user]) or None, STEP_TIMEOUT
        )
        if changed is None:
            rush.timeouts += 1
        else:
            rush.screens_ms.append((time.monotonic() - pressed_at) * 1000)

    await asyncio.gather(*(follow(user) for user in maps))
    return rush


async def held_seats(core: Core, show_id: int, users: list[int]) -> tuple[int, int]:
    """Seats the rushing people hold now, and how many seats are in more than one hold."""
    holds = [await core.holds.current_hold(show_id, user) for user in users]
    counted = Counter(seat for hold in holds if hold is not None for seat in hold.seat_ids)
    return sum(counted.values()), sum(1 for times in counted.values() if times > 1)


def too_many_requests(state: TelegramSandbox) -> int:
    """429 answers the sandbox gave so far."""
    return sum(1 for call in state.calls if not call.ok and "Too Many Requests" in (call.description or ""))


def screen_edits(state: TelegramSandbox) -> Counter[str]:
    """Successful edits so far (of the sandbox's last 10,000 calls), by method in lower case."""
    return Counter(
        call.method.lower() for call in state.calls if call.ok and call.method.lower().startswith("edit")
    )


@dataclass
class Figures:
    """One size's rush by the Marquee bot and by the answer-only bot."""

    size: int
    marquee: Rush
    baseline: Rush
    floods: int
    held: int
    doubled: int
    holders: int
    picture_edits: int  # screens whose hall picture was drawn and sent again
    caption_edits: int  # screens whose picture stayed (caption and keyboard only)

    def result(self) -> str:
        """The RESULT line."""
        outcome, screen, base = self.marquee.outcomes_ms, self.marquee.screens_ms, self.baseline.outcomes_ms
        p99, base_p99 = percentile(outcome, 0.99), percentile(base, 0.99)
        return " ".join(
            [
                f"RESULT rush_users={self.size}",
                f"outcome_p50_ms={percentile(outcome, 0.5):.0f} outcome_p99_ms={p99:.0f}",
                f"screen_p50_ms={percentile(screen, 0.5):.0f} screen_p99_ms={percentile(screen, 0.99):.0f}",
                f"http_429={self.floods} seats_held={self.held} double_holds={self.doubled}",
                f"refused={self.size - self.holders} timeouts={self.marquee.timeouts}",
                f"picture_edits={self.picture_edits} caption_edits={self.caption_edits}",
                f"baseline_p50_ms={percentile(base, 0.5):.0f} baseline_p99_ms={base_p99:.0f}",
                f"ratio={base_p99 / p99 if p99 else 0:.3f}",
            ]
        )


async def rush_one_show(
    settings: MarqueeSettings,
    core: Core,
    notifier: TelegramNotifier,
    api: str,
    state: TelegramSandbox,
    show_id: int,
    users: list[int],
) -> Figures:
    """Open everyone's seat map, let the chats' budgets refill, rush with Marquee, then the baseline."""
    application = build_application(settings, core, token=TOKEN, api_base_url=api, notifier=notifier)
    refill = PER_CHAT_BURST / PER_CHAT_RATE + 0.5
    async with running_bot(application, drop_pending_updates=True):
        maps: dict[int, int] = {}
        for start in range(0, len(users), OPENING_AT_ONCE):  # not measured: no need to rush the set-up
            batch = users[start : start + OPENING_AT_ONCE]
            opened = await asyncio.gather(*(open_seat_map(state, user, show_id) for user in batch))
            maps.update(zip(batch, opened, strict=True))
        await asyncio.sleep(refill)
        floods_before, edits_before = too_many_requests(state), screen_edits(state)
        marquee = await press_all(state, maps, show_id, screens=True)
        floods = too_many_requests(state) - floods_before
        edits = screen_edits(state) - edits_before
    held, doubled = await held_seats(core, show_id, users)
    holders = [await core.holds.current_hold(show_id, user) for user in users]
    await asyncio.sleep(refill)
    async with running_bot(baseline_bot(api, RepliesFirst()), drop_pending_updates=True):
        baseline = await press_all(state, maps, show_id, screens=False)
    return Figures(
        len(users),
        marquee,
        baseline,
        floods,
        held,
        doubled,
        sum(1 for h in holders if h is not None),
        edits["editmessagemedia"],
        edits["editmessagecaption"],
    )


async def main() -> None:
    """Seed the demo, rush each size with the Marquee bot, then with the answer-only bot; print figures."""
    logging.basicConfig(level=logging.WARNING)
    endpoint, database_url = await fresh_stores("marquee-bench-rush-")
    settings = stand_settings(database_url, REDIS_URL=endpoint.url, PUBLIC_BASE_URL="http://127.0.0.1:9")
    flood = FloodLimits(PER_CHAT_RATE, PER_CHAT_BURST, NO_GLOBAL_LIMIT, NO_GLOBAL_LIMIT)
    sandbox = TelegramSandbox(flood=flood, callback_answer_deadline=None)
    runner, api, state = await start_telegram_sandbox(state=sandbox)
    results = []
    try:
        notifier = TelegramNotifier()
        async with open_core(settings, endpoint.url, notifier) as core:
            await core.redis.flushdb()
            await seed_demo(core.sessions, core.catalogue)
            shows = await rush_shows(core, len(SIZES))
            first = FIRST_USER
            for size, show_id in zip(SIZES, shows, strict=True):
                users = list(range(first, first + size))
                first += size
                figures = await rush_one_show(settings, core, notifier, api, state, show_id, users)
                print(figures.result().replace("RESULT ", "  "), flush=True)
                results.append(figures.result())
    finally:
        await runner.cleanup()
        endpoint.stop()
    print("\n".join(results))


if __name__ == "__main__":
    asyncio.run(main())
