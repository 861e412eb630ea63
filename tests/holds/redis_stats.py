"""Counting what our clients asked Redis to do: from INFO commandstats, their sends, or MONITOR."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis

from booking_core.redis_keys import REMINDING_SHOWS


async def round_trips(redis: aioredis.Redis) -> int:
    """Script calls (EVALSHA, plus EVAL and SCRIPT LOAD if any) since the last CONFIG RESETSTAT."""
    stats = await redis.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval", "script"))


class Sends:
    """How many times a client sent something to Redis: its round trips (a pipeline is one send)."""

    def __init__(self) -> None:
        self.count = 0


def counting_client(url: str, sends: Sends) -> aioredis.Redis:
    """A client of the one Redis server at `url` that counts its sends in `sends`."""

    class CountingConnection(aioredis.Connection):
        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            sends.count += 1
            await super().send_packed_command(command, check_health)

    pool = aioredis.ConnectionPool.from_url(url, connection_class=CountingConnection)
    return aioredis.Redis(connection_pool=pool)


@asynccontextmanager
async def sent_commands(url: str) -> AsyncIterator[list[str]]:
    """Every command clients send the Redis server at `url` while inside ("NAME arg arg..."), in order,
    from its MONITOR stream; not the commands scripts run."""
    watching, marking = aioredis.Redis.from_url(url), aioredis.Redis.from_url(url, decode_responses=True)
    await marking.ping()  # its connection is open before the recording starts
    sent: list[str] = []
    marker, marked = f"end-of-recording-{id(sent)}", asyncio.Event()
    async with watching.monitor() as monitor:

        async def record() -> None:
            while True:
                command = await monitor.next_command()
                name, _, args = command["command"].partition(" ")
                if args == marker:
                    marked.set()
                elif command["client_type"] != "lua":
                    sent.append(f"{name.upper()} {args}")

        recording = asyncio.create_task(record())
        try:
            yield sent
            # Everything sent before the marker has been recorded once the marker has.
            await marking.echo(marker)
            await asyncio.wait_for(marked.wait(), 10)
        finally:
            recording.cancel()
            await marking.aclose()
            await watching.aclose()


def not_reminders(sent: list[str]) -> list[str]:
    """The commands in `sent` but the bot's reminder loop's asking for reminders due (every second): those
    that take or give back the reminders' lease, which a script registering a show's reminder does not
    name. (Reading a due show's reminders is not left out: no hold of these tests falls due in them.)"""
    return [command for command in sent if REMINDING_SHOWS not in command]
