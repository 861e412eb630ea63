"""A real sandbox theatre over real HTTP on 127.0.0.1, with a clock the tests move."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.theatre.http import HttpTheatreSystem
from sandbox.theatre import SANDBOX_TOKEN, TheatreSandbox, start_theatre_sandbox
from tests.support.clocks import TheatreClock
from tests.support.theatre_links import RIVAL_TOKEN, api_show


@pytest.fixture
def theatre_clock() -> TheatreClock:
    """The clock of the sandbox theatre."""
    return TheatreClock()


@pytest.fixture
async def sandbox(theatre_clock: TheatreClock) -> AsyncIterator[TheatreSandbox]:
    """A seeded sandbox theatre; a second booking application holds RIVAL_TOKEN."""
    _, _, sandbox = await start_theatre_sandbox(clock=theatre_clock, other_clients={RIVAL_TOKEN: "rival"})
    yield sandbox
    await sandbox.close()


@pytest.fixture
async def theatre(sandbox: TheatreSandbox) -> AsyncIterator[HttpTheatreSystem]:
    """Marquee's adapter for the sandbox, with room for a busy test machine (timeouts have own tests)."""
    async with HttpTheatreSystem(
        sandbox.base_url, SANDBOX_TOKEN, name="northlight", timeout=10.0, attempt_timeout=5.0
    ) as theatre:
        yield theatre


@pytest.fixture
async def rival(sandbox: TheatreSandbox) -> AsyncIterator[HttpTheatreSystem]:
    """Another booking application selling the same theatre's seats."""
    async with HttpTheatreSystem(
        sandbox.base_url, RIVAL_TOKEN, name="rival", timeout=10.0, attempt_timeout=5.0
    ) as rival:
        yield rival


@pytest.fixture
async def show_id(sandbox: TheatreSandbox, theatre_clock: TheatreClock) -> str:
    """A show in the big hall (riverside-1: rows A-H, 12 seats, aisle after 6) starting in 2-3 days."""
    return await api_show(sandbox, theatre_clock)
