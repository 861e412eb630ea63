"""A premiere's on-sale queue in the Mini App: your place (part of every state of a queued show) and
joining it, through the same core calls as the bot's queue buttons (`SaleQueue.join` and `spot`).

Until their turn the core refuses a queued user's holds anyway (`not_on_sale_yet`, `not_your_turn`);
the page shows their place instead of leaving them to find that out seat by seat.
"""

from __future__ import annotations

import time
from typing import Any

from booking_core.holds.sale_queue import JoinRefused, QueueSpot, wait_minutes
from booking_core.holds.types import from_ms
from booking_core.settings import Settings
from bot.handlers.sale_queue import REFUSALS
from webhooks.miniapp.context import MiniApp
from webhooks.miniapp.show_state import ShowHall


def queue_view(spot: QueueSpot, settings: Settings, now_ms: int) -> dict[str, Any]:
    """Where the user stands, in the API's words; `over` when the queue no longer stands between them
    and the seats (their turn came and went, or the show sells normally now), as the bot decides."""
    turn_open = spot.turn_ends_ms is not None
    wait = wait_minutes(
        spot,
        now_ms=now_ms,
        turns_cap=settings.SALE_QUEUE_TURNS,
        turn_seconds=settings.SALE_QUEUE_TURN_SECONDS,
    )
    return {
        "on_sale_at": from_ms(spot.on_sale_ms).isoformat(),
        "phase": spot.phase,
        "queued": spot.queued,
        "position": spot.position,
        "wait_minutes": wait,
        "your_turn": turn_open,
        "turn_ends_at": from_ms(spot.turn_ends_ms).isoformat() if spot.turn_ends_ms else None,
        "turn_seconds_left": max(0, (spot.turn_ends_ms - now_ms) // 1000) if spot.turn_ends_ms else None,
        "over": not turn_open and (spot.phase in ("done", "sold_out") or (spot.admitted and not spot.queued)),
    }


async def queue_place(miniapp: MiniApp, hall: ShowHall, user_id: int) -> dict[str, Any] | None:
    """The user's place in the show's queue; None for a show that sells without one."""
    details = hall.details
    if not details.sale_queue or details.on_sale_at is None:
        return None
    spot = await miniapp.core.holds.sale_queue.spot(details.show_id, user_id)
    return queue_view(spot, miniapp.core.settings, int(time.time() * 1000))


async def join_queue(miniapp: MiniApp, hall: ShowHall, user_id: int, party: int) -> str | JoinRefused:
    """Take (or keep) a place for `party` seats: what to tell the user, or the refusal."""
    joined = await miniapp.core.holds.sale_queue.join(hall.details.show_id, user_id, party)
    if isinstance(joined, JoinRefused):
        return joined
    return "You are in the queue." if joined.joined else "You keep your place in the queue."


def queue_refusal(refused: JoinRefused) -> str:
    """Why joining was refused, in the bot's words."""
    return REFUSALS.get(refused.reason, "The queue is not open.")
