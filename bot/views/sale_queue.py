"""The on-sale queue's screens: how many seats you want, and your place with an honest wait estimate."""

from __future__ import annotations

from datetime import datetime

from booking_core.catalogue.views import ShowDetails
from booking_core.holds.sale_queue import QueueSpot
from booking_core.holds.types import from_ms
from bot.codec import Action
from bot.views.format import countdown, local
from bot.views.screen import Screen, button, in_rows, keyboard
from bot.views.seat_map import show_heading

PARTIES_PER_ROW = 5


def _opens_line(details: ShowDetails, on_sale_at: datetime) -> str:
    return f"🕕 On sale at <b>{local(on_sale_at, details.cinema.timezone):%H:%M}</b>."


def party_screen(details: ShowDetails, *, max_seats: int) -> Screen:
    """Before joining: how the queue works, and how many seats you want."""
    lines = [show_heading(details), "", "🎟 <b>Join the queue</b>"]
    if details.on_sale_at is not None:
        lines.append(_opens_line(details, details.on_sale_at))
    lines += [
        "Everyone who joins before the sale opens gets a random place when it opens: joining early or "
        "tapping again gives no advantage. After that, new arrivals join at the back.",
        "When your turn comes we message you, and you have a few minutes to choose seats.",
        "",
        "How many seats do you want?",
    ]
    parties = [button(str(n), Action.QUEUE_JOIN, details.show_id, n) for n in range(1, max_seats + 1)]
    return Screen("\n".join(lines), keyboard(in_rows(parties, PARTIES_PER_ROW)))


def queue_screen(details: ShowDetails, spot: QueueSpot, wait: int | None, now: datetime) -> Screen:
    """Your place in the queue (or your turn, or the end of the queue), with a refresh button."""
    show_id = details.show_id
    lines = [show_heading(details), ""]
    rows = [[button("🔄 Refresh", Action.QUEUE_STATUS, show_id)]]
    if spot.turn_ends_ms is not None:
        ends = from_ms(spot.turn_ends_ms)
        lines.append(f"🎟 <b>It's your turn!</b> Choose seats within {countdown(ends, now)}.")
        rows = [[button("💺 Choose seats", Action.SHOW, show_id, 0)]]
    elif spot.phase in ("done", "sold_out") or (spot.admitted and not spot.queued):
        lines.append("The queue for this show is over.")
        rows = [[button("💺 See the show", Action.SHOW, show_id, 0)]]
    elif not spot.queued:
        lines.append("You are not in the queue for this show.")
        rows = [[button("🎟 Join the queue", Action.QUEUE_JOIN, show_id, 0)]]
    elif spot.position is None:
        lines.append("✅ <b>You are in the queue.</b>")
        lines.append(_opens_line(details, from_ms(spot.on_sale_ms)))
        lines.append("Places are drawn at random when the sale opens; we message you when your turn comes.")
    else:
        lines += _place_lines(spot.position, wait)
    return Screen("\n".join(lines), keyboard(rows))


def _place_lines(position: int, wait: int | None) -> list[str]:
    lines = [f"✅ <b>You are number {position} in the queue.</b>"]
    if wait is not None:
        estimate = "any moment now" if wait == 0 else f"about {wait} min"
        lines.append(f"⏳ Your turn: {estimate} (at the pace the queue has moved so far).")
    lines.append("We message you when your turn comes; this message updates at most once a minute.")
    return lines


def place_screen(details: ShowDetails | None, show_id: int, position: int, wait: int) -> Screen:
    """A queued user's place as the workers refresh it (the message the user last saw, edited)."""
    heading = [show_heading(details), ""] if details is not None else []
    text = "\n".join([*heading, *_place_lines(position, wait)])
    return Screen(text, keyboard([[button("🔄 Refresh", Action.QUEUE_STATUS, show_id)]]))


def place_passed(details: ShowDetails | None, *, turn: bool) -> Screen:
    """A queued user's place message once the queue moved past it: it points at the new message below
    (their turn, or the sell-out), so no stale place is left on screen."""
    heading = [show_heading(details), ""] if details is not None else []
    news = "The queue is over: see below."
    if turn:
        news = "🎟 Your turn came: choose seats from the message below."
    return Screen("\n".join([*heading, news]), None)
