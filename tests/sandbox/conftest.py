"""Fixtures of the sandbox tests: a running Telegram sandbox and the real Bot pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from tests.sandbox.telegram_harness import Sandbox, sandbox_bot, serve_sandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A running sandbox."""
    async with serve_sandbox() as running:
        yield running


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[Bot]:
    """The real python-telegram-bot Bot pointed at the sandbox."""
    async with sandbox_bot(sandbox.url) as real_bot:
        yield real_bot
