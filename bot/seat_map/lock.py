"""One user's taps on one show's seat map are handled one at a time (in this process).

The Application handles updates concurrently, and a tap reads the user's selection, then writes a new
one and redraws: two quick taps would both read the old selection, the second dropping the first's
seat, and their redraws could land out of order. A lock per (show, user) orders them. It lives only
while someone holds or awaits it (a WeakValueDictionary), so nothing is remembered between taps; taps
that reach two different bot processes are not ordered, and each answers with the true selection.
"""

from __future__ import annotations

import asyncio
from weakref import WeakValueDictionary

_locks: WeakValueDictionary[tuple[int, int], asyncio.Lock] = WeakValueDictionary()


def selection_lock(show_id: int, user_id: int) -> asyncio.Lock:
    """The lock ordering this user's taps on this show's map."""
    key = (show_id, user_id)
    lock = _locks.get(key)
    if lock is None:
        lock = asyncio.Lock()
        _locks[key] = lock
    return lock
