"""The Lua scripts of seat holds and waitlists: each read once, registered once per client, run by SHA.

Each atomic operation is its own `.lua` file whose header documents its KEYS and ARGV. Per-show
scripts get the shared prelude `_lib.lua` prepended (the standard show keys, the hold record format,
freeing seats to the waitlist). A script may call other per-show scripts (`CALLS`): each is embedded
as a local function `run_<name>(ARGV)` taking its own ARGV (so its text stays as it is) and returning
its JSON reply, so the whole step stays one atomic call. redis-py's `Script` objects call EVALSHA
and, on NOSCRIPT (after a Redis restart, failover or SCRIPT FLUSH), load the script again and retry;
should Redis lose it again between that load and the retry, `RedisScripts.call` starts over (a few
times), so callers never see it.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

# Scripts over the sweeper's global index: they take their own keys and get no prelude.
GLOBAL_SCRIPTS = ("due_pop", "due_done", "due_register", "held_shows", "turn_claim")
SHOW_SCRIPTS = (
    "hold",
    "release",
    "lookup",
    "sweep",
    "offer",
    "join_waitlist",
    "leave_waitlist",
    "mark_sold",
    "mark_unsold",
    "forget_sold",
    "seat_map",
    "shorten",
    "best",
    "toggle",
    "choose",
    "sale_queue_join",
    "sale_queue_open",
    "sale_queue_admit",
    "sale_queue_position",
    "sale_queue_due",
    "remind_take",
    "let_go",
)
# Scripts embedded in another, run as functions of their own ARGV: best.lua, toggle.lua and choose.lua
# hold with hold.lua (toggle.lua and choose.lua release with release.lua); best.lua and toggle.lua answer
# with the fresh seat map of seat_map.lua; let_go.lua releases with release.lua and answers with the map.
CALLS = {
    "best": ("hold", "seat_map"),
    "toggle": ("hold", "release", "seat_map"),
    "choose": ("hold", "release"),
    "let_go": ("release", "seat_map"),
}
# How many times a call loads its script again when Redis keeps losing it (redis-py's own retry each).
LOAD_ATTEMPTS = 3
# One call of a script: its KEYS and its ARGV.
ScriptCall = tuple[Sequence[str], Sequence[str | int]]


def _read(name: str) -> str:
    return resources.files(__package__).joinpath(f"{name}.lua").read_text(encoding="utf-8")


@functools.cache
def script_source(name: str) -> str:
    """The full text sent to Redis for script `name` (prelude included for per-show scripts)."""
    if name in GLOBAL_SCRIPTS:
        return _read(name)
    if name not in SHOW_SCRIPTS:
        raise KeyError(f"no Lua script called {name!r}")
    embedded = [
        f"local function run_{called}(ARGV)\n{_read(called)}\nend\n" for called in CALLS.get(name, ())
    ]
    return "\n".join([_read("_lib"), *embedded, _read(name)])


class RedisScripts:
    """The scripts registered on one client; `run` executes one by SHA and decodes its JSON reply."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._scripts = {
            name: redis.register_script(script_source(name)) for name in GLOBAL_SCRIPTS + SHOW_SCRIPTS
        }

    async def call(self, name: str, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        """Run script `name` and return its raw reply."""
        script = self._scripts[name]
        for _ in range(LOAD_ATTEMPTS - 1):
            with contextlib.suppress(NoScriptError):
                return await script(keys=list(keys), args=list(args))
        return await script(keys=list(keys), args=list(args))

    async def call_many(self, name: str, calls: Sequence[ScriptCall]) -> list[Any]:
        """Run script `name` once per (keys, args) in `calls`, in one non-transactional pipeline (on a
        Redis Cluster, split by node, the calls' keys being in any slots); their raw replies, in order.

        Each call stays atomic on its own; together they cost one round trip. A call the server refused
        for a missing script (NOSCRIPT) is run again on its own, which loads the script.
        """
        if not calls:
            return []
        script = self._scripts[name]
        async with self._redis.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            replies = await pipe.execute(raise_on_error=False)
        for i, reply in enumerate(replies):
            if isinstance(reply, NoScriptError):
                keys, args = calls[i]
                replies[i] = await self.call(name, keys, args)
            elif isinstance(reply, Exception):
                raise reply
        return list(replies)

    async def run(self, name: str, keys: Sequence[str], args: Sequence[str | int]) -> dict[str, Any]:
        """Run a per-show script and return its JSON reply as a dict."""
        reply = await self.call(name, keys, args)
        return json.loads(reply)
