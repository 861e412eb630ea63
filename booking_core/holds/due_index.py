"""The sweeper's global index of shows with holds coming due (keys tagged `{sweep}`, outside any show).

Invariant: a show with any hold is either in `due` at or before its earliest expiry, or being swept.
A hold script reports (`due`) when its new hold is the earliest of its show, or when the earliest is
long overdue (the index may have lost the show); only then do we register it, a second round trip
that busy shows almost never need. A sweeper takes shows out of `due` into `running` under a lease,
sweeps them and puts them back at their next expiry; a sweeper that died loses its lease.
"""

from __future__ import annotations

from booking_core.holds.lua import RedisScripts
from booking_core.redis_keys import DUE_SHOWS, SWEEPING_SHOWS

SWEEP_LEASE_MS = 30_000


class DueIndex:
    """Registering, handing out and putting back shows with due holds."""

    def __init__(self, scripts: RedisScripts) -> None:
        self._scripts = scripts

    async def register(self, show_id: int, due_ms: int | str) -> None:
        """Make sure the show is swept no later than due_ms."""
        await self._scripts.call("due_register", [DUE_SHOWS], [show_id, due_ms])

    async def take(self, now_ms: int, limit: int) -> list[int]:
        """Up to `limit` shows with holds due by now_ms, leased to this sweeper."""
        shows = await self._scripts.call(
            "due_pop", [DUE_SHOWS, SWEEPING_SHOWS], [now_ms, limit, SWEEP_LEASE_MS]
        )
        return [int(show) for show in shows]

    async def done(self, show_id: int, next_ms: int | str | None) -> None:
        """A show is swept: back into the index at its next expiry (if it has holds left)."""
        await self._scripts.call(
            "due_done", [DUE_SHOWS, SWEEPING_SHOWS], [show_id, "" if next_ms is None else next_ms]
        )
