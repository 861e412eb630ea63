"""What the Mini App's routes are given by the web role: the booking core and the bot's voice in the chat."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import telegram

from bot.core import BookingCore
from bot.seat_map.halls import HallCache
from webhooks.miniapp.init_data import VerifiedInitData
from webhooks.miniapp.pushes import SeatPushes
from webhooks.miniapp.show_state import ShowHall
from webhooks.miniapp.snapshots import SeatMapSnapshots


@dataclass
class MiniApp:
    """The core the API calls, the Bot that puts checkouts in the chat, and how initData is checked."""

    core: BookingCore
    bot: telegram.Bot
    bot_token: str  # initData is signed with it
    # Telegram's telegram-web-app.js in production; the sandbox's stand-in when the bot talks to the sandbox.
    web_app_script: str
    verified: VerifiedInitData = field(default_factory=VerifiedInitData)
    halls: HallCache[ShowHall] = field(init=False)
    seat_maps: SeatMapSnapshots = field(init=False)
    pushes: SeatPushes = field(init=False)
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.halls = HallCache(self.core.catalogue, ShowHall)
        self.seat_maps = SeatMapSnapshots(self.core.holds)
        self.pushes = SeatPushes(self.core.holds)

    def run_in_background(self, job: Coroutine[Any, Any, None]) -> None:
        """Run `job` after the answer (closing superseded checkouts), keeping it referenced until it ends."""
        task = asyncio.create_task(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
