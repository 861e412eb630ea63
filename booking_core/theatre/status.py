"""What connected theatres say about their shows' seats, kept briefly in Redis, and which are down.

Redis keys:
- `theatre_status` of a show (tag `{show:<id>}`) STRING JSON {"version", "sold", "locked"}: the theatre's
  answer, shared by every process for `status_seconds` and dropped as soon as we change the show's
  seats at the theatre ourselves (a lock, a release, a commit, a cancellation).
- `marquee:theatre:<system>:down` STRING, for DOWN_MS after a call to that theatre found it not
  answering: every process then treats it as down at once (maps say so whatever is cached, holds are
  refused, releases wait) instead of each finding out after its own time budget; the first call after
  the mark lapses probes the theatre again.
"""

from __future__ import annotations

import asyncio
import json

import redis.asyncio as aioredis

from booking_core.redis_keys import ShowKeys
from booking_core.theatre.port import SeatStatus, TheatreSystem, TheatreUnavailable
from booking_core.theatre.shows import ConnectedShow

STATUS_KEY = "theatre_status"
DOWN_KEY = "marquee:theatre:{}:down"
DOWN_MS = 2000


class TheatreStatus:
    """The seat status of connected shows, at most `status_seconds` old, and the theatres known down."""

    def __init__(self, redis: aioredis.Redis, *, status_seconds: float = 1.0) -> None:
        self._redis = redis
        self._status_ms = max(1, int(status_seconds * 1000))
        # One status request per show at a time in this process, however many maps want it.
        self._fetching: dict[int, asyncio.Future[SeatStatus]] = {}
        self._noted_down: set[str] = set()  # systems this process marked down (so it clears the mark)

    async def of(self, show: ConnectedShow, system: TheatreSystem) -> SeatStatus:
        """The show's sold and locked seats at its theatre; TheatreUnavailable at once while it is down."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(ShowKeys(show.show_id).key(STATUS_KEY))
            pipe.exists(DOWN_KEY.format(show.system))
            cached, down = await pipe.execute()
        if down:
            raise TheatreUnavailable("down", f"{show.system} did not answer a moment ago")
        if cached is not None:
            fields = json.loads(cached)
            return SeatStatus(frozenset(fields["sold"]), frozenset(fields["locked"]), int(fields["version"]))
        fetching = self._fetching.get(show.show_id)
        if fetching is None:
            fetching = asyncio.ensure_future(self._fetch(show, system))
            self._fetching[show.show_id] = fetching
            fetching.add_done_callback(lambda done: self._fetched(show.show_id, done))
        return await asyncio.shield(fetching)

    async def forget(self, show_id: int) -> None:
        """Drop the show's cached status (we just changed its seats at the theatre)."""
        await self._redis.delete(ShowKeys(show_id).key(STATUS_KEY))

    async def is_down(self, system: str) -> bool:
        """Whether a call found `system` not answering a moment ago."""
        return bool(await self._redis.exists(DOWN_KEY.format(system)))

    async def note_down(self, system: str) -> None:
        """A call to `system` found it not answering: tell every process, for DOWN_MS."""
        self._noted_down.add(system)
        await self._redis.set(DOWN_KEY.format(system), "1", px=DOWN_MS)

    async def note_up(self, system: str) -> None:
        """A call to `system` was answered: clear the mark this process set, if any."""
        if system in self._noted_down:
            self._noted_down.discard(system)
            await self._redis.delete(DOWN_KEY.format(system))

    async def _fetch(self, show: ConnectedShow, system: TheatreSystem) -> SeatStatus:
        try:
            status = await system.seat_status(show.theatre_show_id)
        except TheatreUnavailable:
            await self.note_down(show.system)
            raise
        await self.note_up(show.system)
        fields = {"version": status.version, "sold": sorted(status.sold), "locked": sorted(status.locked)}
        await self._redis.set(ShowKeys(show.show_id).key(STATUS_KEY), json.dumps(fields), px=self._status_ms)
        return status

    def _fetched(self, show_id: int, done: asyncio.Future[SeatStatus]) -> None:
        if self._fetching.get(show_id) is done:
            del self._fetching[show_id]
        if not done.cancelled():
            done.exception()  # retrieved here, so a failure nobody waited for is not logged as lost
