"""Live seat states pushed to open pages by server-sent events (`GET /app/api/shows/{id}/events`).

Per web process and show, while any page watches it, one task reads the show's seat map for nobody in
particular every FRESH_SECONDS and, when it changed, hands it to every open stream, which marks the
reader's own seats (`NamedStates.held_by`) and writes it. So a change reaches every page within
FRESH_SECONDS and a write, at one map read per show and moment however many pages watch, and no request
per page at all (benchmarks/miniapp.py measured this against polling: see the README).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

from redis.exceptions import RedisError

from booking_core.holds.store import HoldStore
from webhooks.miniapp.show_state import NamedStates, ShowHall
from webhooks.miniapp.snapshots import FRESH_SECONDS

log = logging.getLogger(__name__)

# A stream with nothing new says so this often: writing to a page that has gone ends its stream.
HEARTBEAT_SECONDS = 15.0


class SeatPushes:
    """The shows' shared seat maps, read while anyone watches and handed to every watcher on change."""

    def __init__(self, holds: HoldStore, *, every: float = FRESH_SECONDS) -> None:
        self._holds = holds
        self._every = every
        self._latest: dict[int, NamedStates] = {}
        self._watchers: dict[int, int] = {}
        self._readers: dict[int, asyncio.Task[None]] = {}
        self._changed = asyncio.Condition()
        self._closed = False

    async def watch(self, hall: ShowHall) -> AsyncIterator[NamedStates | None]:
        """The show's map each time it changes (the current one first); None after HEARTBEAT_SECONDS
        without a change. Ends when the pushes are closed."""
        show_id = hall.details.show_id
        self._watchers[show_id] = self._watchers.get(show_id, 0) + 1
        if show_id not in self._readers:
            self._readers[show_id] = asyncio.create_task(self._read(hall))
        sent: NamedStates | None = None

        def news() -> bool:
            return self._closed or self._latest.get(show_id, sent) is not sent

        try:
            while not self._closed:
                async with self._changed:
                    try:
                        await asyncio.wait_for(self._changed.wait_for(news), HEARTBEAT_SECONDS)
                    except TimeoutError:
                        news_now = None
                    else:
                        news_now = sent = self._latest.get(show_id)
                if not self._closed:
                    yield news_now
        finally:
            self._watchers[show_id] -= 1

    async def _read(self, hall: ShowHall) -> None:
        show_id = hall.details.show_id
        try:
            while self._watchers.get(show_id, 0) > 0 and not self._closed:
                try:
                    named = NamedStates.of(hall, await self._holds.seat_map(show_id, None))
                except (RedisError, OSError):
                    log.warning("show %s: seat map not read for its live pages", show_id, exc_info=True)
                else:
                    if _pushed(named) != _pushed(self._latest.get(show_id)):
                        async with self._changed:
                            self._latest[show_id] = named
                            self._changed.notify_all()
                await asyncio.sleep(self._every)
        finally:
            self._readers.pop(show_id, None)
            self._latest.pop(show_id, None)

    async def close(self) -> None:
        """End every stream and reader (the web app is shutting down)."""
        self._closed = True
        async with self._changed:
            self._changed.notify_all()
        for reader in list(self._readers.values()):
            reader.cancel()
            with suppress(asyncio.CancelledError):
                await reader


def _pushed(named: NamedStates | None) -> Any:
    """What a push tells: a map read again that tells nothing new is not pushed."""
    if named is None:
        return None
    return named.digest, named.held_by, named.waiting, named.closed, named.unavailable
