"""Reads shared for a moment: one read serves everyone asking at once, and is redone once stale."""

from __future__ import annotations

import asyncio

import pytest

from bot.seat_map.shared_reads import SharedReads


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_rush_of_first_requests_shares_one_read_until_it_is_stale() -> None:
    clock, reads = Clock(), []
    shared: SharedReads[int] = SharedReads(0.25, clock=clock)

    async def read() -> int:
        reads.append(clock.now)
        await asyncio.sleep(0.01)
        return len(reads)

    # Given 50 requests at once for a key nobody read yet: one read answers all
    assert await asyncio.gather(*(shared.get(7, read) for _ in range(50))) == [1] * 50
    # Within the moment the kept value answers; past it, the key is read again
    clock.now += 0.2
    assert await shared.get(7, read) == 1
    clock.now += 0.1
    assert await shared.get(7, read) == 2
    # And a forgotten key is read at once
    shared.forget(7)
    assert await shared.get(7, read) == 3 and len(reads) == 3


async def test_a_failed_read_is_not_kept() -> None:
    shared: SharedReads[int] = SharedReads(60)
    attempts = []

    async def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("redis went away")
        return 42

    with pytest.raises(ConnectionError):
        await shared.get(1, flaky)
    assert await shared.get(1, flaky) == 42
