"""Hold reminders ("less than a minute left"): sent by whichever bot process the core hands them to.

The core notes when each hold's reminder falls due as it writes the hold, in the same script call
(booking_core/holds/due_index.py), whether the hold was made in the chat, on the Mini App page or by a
waitlist offer; `HoldStore.due_reminders` hands each one out once, however many bot processes ask, and
only while its hold is live. This loop asks every second and sends what it is given.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from booking_core.holds.store import Hold, HoldStore

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


async def send_hold_reminders(
    holds: HoldStore, remind: Callable[[Hold], Awaitable[None]], poll_seconds: float = POLL_SECONDS
) -> None:
    """Send the reminders that fall due through `remind`, until cancelled."""
    while True:
        try:
            for hold in await holds.due_reminders():
                await remind(hold)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("hold reminders: a round failed; trying again")
        await asyncio.sleep(poll_seconds)
