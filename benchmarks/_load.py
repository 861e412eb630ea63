"""Load helpers shared by the benchmarks: concurrent client loops and their latency figures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def run_clients(
    work: Callable[[int, int], Awaitable[None]], deadline: float, clients: int
) -> list[float]:
    """Run `clients` loops of `work(client, i)` until `deadline` (perf_counter); each call's latency in ms."""
    latencies: list[float] = []

    async def one(client: int) -> None:
        i = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await work(client, i)
            latencies.append((time.perf_counter() - started) * 1000)
            i += 1

    await asyncio.gather(*(one(client) for client in range(clients)))
    return latencies


def p99(latencies: list[float]) -> float:
    """The 99th percentile of `latencies` (the smallest value when there are fewer than a hundred)."""
    ordered = sorted(latencies)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]
