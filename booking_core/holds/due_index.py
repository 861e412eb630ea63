"""The global indexes of shows to visit (keys tagged `{sweep}`, outside any show): the sweeper's, of
shows with holds coming due, and the hold reminders', of shows with a reminder coming due.

Invariant: a show with any hold is either in the sweeper's index at or before its earliest expiry, or
being swept; a show with a hold to remind of is in the reminders' index at or before that reminder, or
being visited. A script that writes a hold reports (`due`, `remind`) when its new hold is the earliest
of its show (or the earliest is long overdue: the index may have lost the show); only then do we
register it, a second round trip that busy shows almost never need. A visitor takes shows out of an
index into its `running` set under a lease, visits them and puts them back at their next time; a
visitor that died loses its lease.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from booking_core.holds.lua import RedisScripts
from booking_core.redis_keys import DUE_SHOWS, REMIND_SHOWS, REMINDING_SHOWS, SWEEPING_SHOWS

VISIT_LEASE_MS = 30_000


class DueIndex:
    """Handing out and putting back the shows of one index (`due_key`, leased into `running_key`)."""

    def __init__(
        self, scripts: RedisScripts, due_key: str = DUE_SHOWS, running_key: str = SWEEPING_SHOWS
    ) -> None:
        self._scripts = scripts
        self._keys = [due_key, running_key]

    @classmethod
    def reminders(cls, scripts: RedisScripts) -> DueIndex:
        """The index of shows with hold reminders coming due."""
        return cls(scripts, REMIND_SHOWS, REMINDING_SHOWS)

    async def take(self, now_ms: int, limit: int) -> list[int]:
        """Up to `limit` shows due by now_ms, leased to this visitor."""
        shows = await self._scripts.call("due_pop", self._keys, [now_ms, limit, VISIT_LEASE_MS])
        return [int(show) for show in shows]

    async def done(self, visited: Sequence[tuple[int, int | str | None]]) -> None:
        """Shows visited, each with its next time: back into the index then (those that have one), all
        in one round trip."""
        calls = [(self._keys, [show_id, "" if next_ms is None else next_ms]) for show_id, next_ms in visited]
        await self._scripts.call_many("due_done", calls)


async def register_hints(scripts: RedisScripts, show_id: int, reply: Mapping[str, Any]) -> None:
    """After a script that wrote a hold: put the show in the sweeper's and the reminders' indexes where
    its reply asks (`due`, `remind`), in one call; no call at all when it asks for neither."""
    due, remind = reply.get("due") or "", reply.get("remind") or ""
    if due or remind:
        await scripts.call("due_register", [DUE_SHOWS, REMIND_SHOWS], [show_id, due, remind])
